"""A few training images as TensorBoard pictures (`log_image_summaries`): what the network sees
and predicts while it learns."""

from __future__ import annotations

from unet_defects.adapters.artifacts import sample_panels
from unet_defects.application.values import SamplePicture
from unet_defects.domain.data import denormalize
from unet_defects.domain.masks import binarize_truth


def write_previews(images, masks, probabilities, normalization: tuple[float, float]) -> None:
    """Input, true and predicted masks (at probability 0.5) and both overlays of each image,
    into the default summary writer."""
    import tensorflow as tf

    for index, (image, mask, probability) in enumerate(zip(images.numpy(), masks.numpy(), probabilities.numpy())):
        sample = SamplePicture(index=index, image=denormalize(image[..., 0], normalization),
                               truth=binarize_truth(mask.max(axis=-1)),  # every class together
                               prediction=probability.max(axis=-1) > 0.5)
        for kind, picture in sample_panels(sample).items():
            tf.summary.image(f"train_samples/{index}/{kind}", picture[None])
