"""Fakes of the inference engines and the calibration file, free of TensorFlow."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from adapters.fakes.roles import FakeModel
from application.values import ExportManifest
from domain.calibration import Calibration
from domain.errors import DataError


class FakeEngine:
    """The fake model's probabilities, as the TensorFlow engine gives a real model's."""

    def __init__(self, model: FakeModel, name: str = "tensorflow") -> None:
        self.model = model
        self.name = name
        self.batches: list[tuple[int, ...]] = []  # shapes it was called with

    def probabilities(self, batch: np.ndarray) -> np.ndarray:
        self.batches.append(np.shape(batch))
        return 1.0 / (1.0 + np.exp(-self.model.logits(np.asarray(batch))[..., 0]))


class FakeEngines:
    """Engines of built fake models, and exports registered by folder."""

    def __init__(self, exports: dict[str, tuple[FakeEngine, ExportManifest]] | None = None) -> None:
        self.exports = dict(exports or {})
        self.made: list[FakeEngine] = []

    def from_model(self, model: FakeModel) -> FakeEngine:
        self.made.append(FakeEngine(model))
        return self.made[-1]

    def from_export(self, engine: str, directory: str) -> tuple[FakeEngine, ExportManifest]:
        if directory not in self.exports:
            raise DataError(f"{directory}: no unet_export.json (not an export made by unet export)")
        found, manifest = self.exports[directory]
        found.name = engine
        return found, manifest


class FakeCalibrationStore:
    def __init__(self, calibration: Calibration | None = None, location: str = "model_dir/calibration.json") -> None:
        self.calibration = calibration
        self.location = location
        self.tables: list[Sequence[dict]] = []

    def load(self) -> Calibration | None:
        return self.calibration

    def save(self, calibration: Calibration, table: Sequence[dict]) -> str:
        self.calibration = calibration
        self.tables.append(table)
        return self.location
