"""KerasEngine: a built Keras model as an inference engine (numpy in, probabilities out)."""

from __future__ import annotations

from typing import Any

import numpy as np

from unet_defects.adapters.tensorflow.device import device_scope
from unet_defects.adapters.tensorflow.outputs import split_outputs


def probabilities_function(model: Any) -> Any:
    """batch -> pixel probabilities, or (pixel, image) probabilities with a classifier head."""
    import tensorflow as tf

    @tf.function(reduce_retracing=True)
    def probabilities(batch):
        pixels, image = split_outputs(model(batch, training=False))
        maps = tf.sigmoid(tf.cast(pixels, tf.float32))
        return maps if image is None else (maps, tf.sigmoid(tf.cast(image, tf.float32)))

    return probabilities


class KerasEngine:
    name = "tensorflow"

    def __init__(self, model: Any, device: str | None = None) -> None:
        self._probabilities = probabilities_function(model)
        self._device = device
        self.has_classifier = len(model.outputs) > 1

    def outputs(self, batch: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """The pixel probabilities (N, H, W, K), a channel per defect class, and the
        classifier head's (N, K) image probabilities (None without a head)."""
        import tensorflow as tf

        with device_scope(self._device):
            found = self._probabilities(tf.constant(batch, tf.float32))
        if not self.has_classifier:
            return found.numpy(), None
        return found[0].numpy(), found[1].numpy()

