"""TensorFlowPredictor: resizes images for an inference engine and its probabilities back."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from unet_defects.application.ports import InferenceEngine


class TensorFlowPredictor:
    def predict(self, engine: InferenceEngine, images: Sequence[np.ndarray],
                        size: tuple[int, int]) -> tuple[list[np.ndarray], np.ndarray | None]:
        import tensorflow as tf

        def resized(array: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
            # An image already at the size is passed as it is (a resize to its own size is the identity).
            if tuple(array.shape[:2]) == tuple(shape):
                return np.asarray(array, np.float32)
            return tf.image.resize(np.asarray(array, np.float32), shape).numpy()

        outputs, classified = engine.outputs(np.stack([resized(image, size) for image in images]))
        return [resized(output, image.shape[:2]) for output, image in zip(outputs, images)], classified

    def predict_tiles(self, engine: InferenceEngine, tiles: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        return engine.outputs(np.asarray(tiles, np.float32))
