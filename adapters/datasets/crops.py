"""Training and evaluating at the images' own scale (`image_fit: crop`), in tf.data.

- An image smaller than the crop is mirror-padded (bottom and right, repeatedly if it is much
  smaller) until the crop fits; its mask is mirrored with it, so padded pixels are ordinary
  pixels of the loss, a defect near the border mirrored as a defect.
- `train_input.defect_sampling: p` draws that share of training crops from defective images,
  centred on one of their defect pixels chosen at random (MONAI's positive/negative crop
  sampling); the rest are uniform crops of any image. domain.sampling.centred_origin is the
  rule, tested on literal values; `centred_crop` is its twin in the graph.
- Whole-image evaluation mirror-pads each image to a multiple of the network's stride and
  marks the padding PAD_LABEL in its mask, which no score counts.
"""

from __future__ import annotations

import tensorflow as tf

from unet_defects.adapters.tensorflow.padding import mirror_pad_to, mirror_pad_to_stride
from unet_defects.domain.data import DataSpec
from unet_defects.domain.masks import TRUTH_THRESHOLD
from unet_defects.domain.sampling import PAD_LABEL


def centred_crop(stacked: tf.Tensor, height: int, width: int, element_seed: tf.Tensor,
                 image_channels: int | None = None) -> tf.Tensor:
    """A height x width crop of (H, W, C + K) whose channels after the image's C are the mask
    (one per class; the last one when `image_channels` is not given), centred on a random
    defect pixel of any class and shifted inside the image (domain.sampling.centred_origin)."""
    shape = tf.shape(stacked)
    mask = stacked[..., -1:] if image_channels is None else stacked[..., image_channels:]
    defects = tf.where(tf.reduce_max(mask, axis=-1) >= TRUTH_THRESHOLD)
    count = tf.shape(defects)[0]
    pick = tf.random.stateless_uniform([], seed=element_seed + 11, maxval=tf.maximum(count, 1), dtype=tf.int32)
    centre = tf.cast(tf.gather(defects, tf.minimum(pick, tf.maximum(count - 1, 0))), tf.int32)
    top = tf.clip_by_value(centre[0] - height // 2, 0, shape[0] - height)
    left = tf.clip_by_value(centre[1] - width // 2, 0, shape[1] - width)
    return stacked[top:top + height, left:left + width]


def crop(stacked: tf.Tensor, spec: DataSpec, element_seed: tf.Tensor, centred: tf.Tensor) -> tf.Tensor:
    """The training crop of one padded (image | mask) stack: centred on a defect or uniform."""
    stacked = mirror_pad_to(stacked, spec.height, spec.width)
    size = [spec.height, spec.width, spec.channels + len(spec.classes)]
    cropped = tf.cond(centred, lambda: centred_crop(stacked, spec.height, spec.width, element_seed, spec.channels),
                      lambda: tf.image.stateless_random_crop(stacked, size, seed=element_seed + 7))
    cropped.set_shape(size)
    return cropped


def _mixed(uniform: tf.data.Dataset, defective: list[tf.data.Dataset], share: float, seed: int) -> tf.data.Dataset:
    """`share` of the draws from the defective streams (equally), the rest uniform. A stream that
    turns out empty ends (repeat of nothing), and the draws go on from the others."""
    if share <= 0 or not defective:
        return uniform
    weights = [share / len(defective)] * len(defective) + [1.0 - share]
    return tf.data.Dataset.sample_from_datasets(defective + [uniform], weights=weights, seed=seed,
                                                stop_on_empty_dataset=False)


def with_defect_sampling(dataset: tf.data.Dataset, share: float, seed: int) -> tf.data.Dataset:
    """Endless (image, mask, centred) draws: `share` of them from the defective images (to be
    cropped around a defect), the rest from every image. Without defective images, all uniform."""

    def mark(centred: bool):
        return lambda image, mask: (image, mask, tf.constant(centred))

    defective = dataset.filter(lambda image, mask: tf.reduce_max(mask) >= TRUTH_THRESHOLD).repeat().map(mark(True))
    return _mixed(dataset.repeat().map(mark(False)), [defective] if share > 0 else [], share, seed)


def with_defect_sampling_by_group(indexed: tf.data.Dataset, share: float, seed: int,
                                  groups: list[int]) -> tf.data.Dataset:
    """As with_defect_sampling, with the defective draws shared equally among groups (defect
    types): elements are (index, (image, mask)) and groups[index] is the sample's group, -1
    for a sample with no defect. A rare type is then drawn as often as a common one."""
    ids = tf.constant(groups, tf.int32)
    uniform = indexed.repeat().map(lambda index, pair: (pair[0], pair[1], tf.constant(False)))
    streams = [
        indexed.filter(lambda index, pair, group=group: tf.gather(ids, index) == group).repeat()
        .map(lambda index, pair: (pair[0], pair[1], tf.constant(True)))
        for group in sorted(set(groups) - {-1})
    ]
    return _mixed(uniform, streams, share, seed)


def pad_for_evaluation(stride: int):
    """Whole images mirror-padded to a multiple of the stride; the padding's mask is PAD_LABEL."""

    def pad(image, mask):
        padded = mirror_pad_to_stride(image, stride)
        extra = tf.shape(padded)[:2] - tf.shape(image)[:2]
        marked = tf.pad(mask, [[0, extra[0]], [0, extra[1]], [0, 0]], constant_values=PAD_LABEL)
        return padded, marked

    return pad
