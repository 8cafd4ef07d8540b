"""ArrayDatasetReader: in-memory numpy images and masks as a dataset, for embedding services."""

from __future__ import annotations

import numpy as np

from unet_defects.adapters.datasets.file_reader import only_eval
from unet_defects.domain.errors import DataError


class ArrayDatasetReader:
    """Images (N, H, W, C) already normalized, masks (N, H, W, 1) in [0, 1].

    Evaluation uses `eval_images` / `eval_masks` when given, else the training arrays.
    """

    def __init__(self, images, masks, batch_size: int = 8, eval_images=None, eval_masks=None,
                 seed: int = 0) -> None:
        self._train = self._checked(images, masks, "images")
        self._eval = self._checked(
            eval_images if eval_images is not None else images,
            eval_masks if eval_masks is not None else masks, "eval_images",
        )
        self._batch_size = batch_size
        self._seed = seed

    @staticmethod
    def _checked(images, masks, name: str) -> tuple[np.ndarray, np.ndarray]:
        images = np.asarray(images, np.float32)
        masks = np.asarray(masks, np.float32)
        if images.ndim != 4 or masks.ndim != 4 or masks.shape[-1] != 1:
            raise DataError(f"{name}: expected images (N, H, W, C) and masks (N, H, W, 1), "
                            f"got {images.shape} and {masks.shape}")
        if images.shape[:3] != masks.shape[:3]:
            raise DataError(f"{name}: images {images.shape} and masks {masks.shape} differ in N, H or W")
        return images, masks

    def training_size(self) -> int:
        return len(self._train[0])

    def evaluation_size(self) -> int:
        return len(self._eval[0])

    def training_stream(self):
        import tensorflow as tf

        dataset = tf.data.Dataset.from_tensor_slices(self._train)
        dataset = dataset.shuffle(len(self._train[0]), seed=self._seed).repeat()
        return dataset.batch(self._batch_size, drop_remainder=True).prefetch(tf.data.AUTOTUNE)

    def evaluation_names(self, split: str = "eval") -> list[str]:
        """None: arrays have no names."""
        return []

    def evaluation_stream(self, split: str = "eval"):
        import tensorflow as tf

        only_eval(split, "in-memory arrays")
        return tf.data.Dataset.from_tensor_slices(self._eval).batch(self._batch_size)
