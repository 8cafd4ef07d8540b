"""Mirror padding in the graph agrees with predict's numpy rule, and pads images much smaller
than the stride (one SYMMETRIC pad adds at most the image's own size)."""

import numpy as np
import tensorflow as tf

from unet_defects.adapters.tensorflow.padding import mirror_pad_to, mirror_pad_to_stride
from unet_defects.domain.tiling import PredictGeometry, TilePlan


def test_padding_to_the_stride_equals_predicts_numpy_rule():
    image = np.random.default_rng(0).random((20, 13, 1)).astype(np.float32)
    plan = TilePlan.for_image(20, 13, PredictGeometry(mode="native", tile=(64, 64), stride=16))
    np.testing.assert_array_equal(mirror_pad_to_stride(tf.constant(image), 16).numpy(), plan.pad(image))
    batch = mirror_pad_to_stride(tf.constant(image[None]), 16).numpy()  # a batch pads the same way
    np.testing.assert_array_equal(batch[0], plan.pad(image))


def test_an_image_much_smaller_than_the_target_is_mirrored_repeatedly():
    image = np.arange(6, dtype=np.float32).reshape(2, 3, 1)
    padded = mirror_pad_to(tf.constant(image), 7, 8).numpy()
    assert padded.shape == (7, 8, 1)
    np.testing.assert_array_equal(padded[:2, :3], image)
    np.testing.assert_array_equal(padded[2:4, :3], image[::-1])  # the first mirror
    assert mirror_pad_to_stride(tf.constant(image[None]), 32).numpy().shape == (1, 32, 32, 1)
