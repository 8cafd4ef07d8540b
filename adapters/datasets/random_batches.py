"""RandomBatchReader: one in-memory random batch repeated, so a benchmark measures compute only."""

from __future__ import annotations

import numpy as np

from unet_defects.adapters.datasets.file_reader import only_eval
from unet_defects.domain.data import DataSpec

DEFECT_FRACTION = 0.05


class RandomBatchReader:
    def __init__(self, data: DataSpec, seed: int = 0) -> None:
        self._data = data
        self._rng = np.random.default_rng(seed)

    def _batch(self, size: int):
        import tensorflow as tf

        shape = (size, self._data.height, self._data.width)
        images = self._rng.standard_normal((*shape, self._data.channels)).astype(np.float32)
        masks = (self._rng.random((*shape, 1)) < DEFECT_FRACTION).astype(np.float32)
        return tf.data.Dataset.from_tensors((images, masks)).repeat()

    def training_stream(self):
        return self._batch(self._data.train_batch_size)

    def evaluation_names(self, split: str = "eval") -> list[str]:
        """None: random images have no names."""
        return []

    def evaluation_stream(self, split: str = "eval"):
        only_eval(split, "random batches")
        return self._batch(self._data.eval_batch_size)

    def training_size(self) -> int:
        return self._data.train_batch_size

    def evaluation_size(self) -> int:
        return self._data.eval_batch_size
