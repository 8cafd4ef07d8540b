"""Ports of drift on the line: where the reference is kept, and the training images it is
measured on."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol

import numpy as np

from unet_defects.domain.drift_reference import DriftReference


class DriftReferenceStore(Protocol):
    def load(self) -> DriftReference | None:
        """The model's reference (a model_dir's drift_reference.json, or an export's manifest
        copy); None when it has none. A damaged one raises a one-line DataError."""

    def save(self, reference: DriftReference) -> str:
        """Write it whole into the model_dir; where it went."""

    def carry(self, export_dir: str) -> bool:
        """Copy the model_dir's reference into an export's manifest; False when there is none."""


class TrainingImages(Protocol):
    def sample(self, limit: int, seed: int) -> tuple[int, Iterator[np.ndarray]]:
        """(how many training images there are, up to `limit` of them drawn by `seed`, each read
        as the line reads it: (H, W) uint8 gray); (0, nothing) when the dataset is not files."""
