"""TensorFlowPredictor: defect probabilities from one compiled function per model."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from adapters.tensorflow.device import device_scope


def probabilities_function(model: Any) -> Any:
    import tensorflow as tf

    @tf.function(reduce_retracing=True)
    def probabilities(batch):
        return tf.sigmoid(tf.cast(model(batch, training=False), tf.float32))

    return probabilities


class TensorFlowPredictor:
    def __init__(self, device: str | None = None) -> None:
        self._device = device
        self._compiled: dict[int, Any] = {}

    def _probabilities(self, model: Any) -> Any:
        if id(model) not in self._compiled:
            self._compiled[id(model)] = probabilities_function(model)
        return self._compiled[id(model)]

    def predict(self, model: Any, images: Sequence[np.ndarray], size: tuple[int, int]) -> list[np.ndarray]:
        import tensorflow as tf

        probabilities = self._probabilities(model)
        with device_scope(self._device):
            resized = tf.stack([tf.image.resize(np.asarray(image, np.float32), size) for image in images])
            outputs = probabilities(resized)
            return [
                tf.image.resize(output, image.shape[:2]).numpy()[..., 0]
                for output, image in zip(tf.unstack(outputs), images)
            ]

    def predict_tiles(self, model: Any, tiles: np.ndarray) -> np.ndarray:
        import tensorflow as tf

        with device_scope(self._device):
            return self._probabilities(model)(tf.constant(tiles, tf.float32)).numpy()[..., 0]
