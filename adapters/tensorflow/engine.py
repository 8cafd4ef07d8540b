"""KerasEngine: a built Keras model as an inference engine (numpy in, probabilities out)."""

from __future__ import annotations

from typing import Any

import numpy as np

from adapters.tensorflow.device import device_scope
from domain.masks import class_maps


def probabilities_function(model: Any) -> Any:
    import tensorflow as tf

    @tf.function(reduce_retracing=True)
    def probabilities(batch):
        return tf.sigmoid(tf.cast(model(batch, training=False), tf.float32))

    return probabilities


class KerasEngine:
    name = "tensorflow"

    def __init__(self, model: Any, device: str | None = None) -> None:
        self._probabilities = probabilities_function(model)
        self._device = device

    def probabilities(self, batch: np.ndarray) -> np.ndarray:
        import tensorflow as tf

        with device_scope(self._device):
            return class_maps(self._probabilities(tf.constant(batch, tf.float32)).numpy())
