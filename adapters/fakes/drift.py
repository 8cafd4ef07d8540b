"""Fakes of drift's ports: the reference kept in memory, training images given as arrays."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np

from unet_defects.domain.drift_reference import DriftReference


class FakeDriftReferenceStore:
    def __init__(self, reference: DriftReference | None = None) -> None:
        self.reference = reference
        self.saves = 0
        self.carried: list[str] = []  # the export folders it was copied into

    def load(self) -> DriftReference | None:
        return self.reference

    def save(self, reference: DriftReference) -> str:
        self.reference = reference
        self.saves += 1
        return "memory://drift_reference.json"

    def carry(self, export_dir: str) -> bool:
        if self.reference is None:
            return False
        self.carried.append(export_dir)
        return True


class FakeTrainingImages:
    def __init__(self, images: Sequence[np.ndarray] = ()) -> None:
        self.images = list(images)

    def sample(self, limit: int, seed: int) -> tuple[int, Iterator[np.ndarray]]:
        chosen = np.random.default_rng(seed).permutation(len(self.images))[:limit]
        return len(self.images), (self.images[index] for index in sorted(chosen))
