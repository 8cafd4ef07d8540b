"""TensorFlowPredictor: resizes images for an inference engine and its probabilities back."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from application.ports import InferenceEngine


class TensorFlowPredictor:
    def predict(self, engine: InferenceEngine, images: Sequence[np.ndarray], size: tuple[int, int]) -> list[np.ndarray]:
        import tensorflow as tf

        resized = np.stack([tf.image.resize(np.asarray(image, np.float32), size).numpy() for image in images])
        outputs = engine.probabilities(resized)
        return [
            tf.image.resize(output[..., None], image.shape[:2]).numpy()[..., 0]
            for output, image in zip(outputs, images)
        ]

    def predict_tiles(self, engine: InferenceEngine, tiles: np.ndarray) -> np.ndarray:
        return engine.probabilities(np.asarray(tiles, np.float32))
