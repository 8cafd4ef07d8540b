"""Fakes of the inference engines and the calibration file, free of TensorFlow."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from unet_defects.adapters.fakes.roles import FakeModel
from unet_defects.application.values import ExportManifest
from unet_defects.domain.calibration import Calibration
from unet_defects.domain.errors import DataError


class FakeEngine:
    """The fake model's probabilities, as the TensorFlow engine gives a real model's."""

    def __init__(self, model: FakeModel, name: str = "tensorflow") -> None:
        self.model = model
        self.name = name
        self.has_classifier = False
        self.batches: list[tuple[int, ...]] = []  # shapes it was called with

    def outputs(self, batch: np.ndarray) -> tuple[np.ndarray, None]:
        self.batches.append(np.shape(batch))
        return 1.0 / (1.0 + np.exp(-self.model.logits(np.asarray(batch)))), None


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

    def load(self, class_ids: Sequence[int] = (1,)) -> tuple[Calibration, ...] | None:
        if self.calibration is None:
            return None
        return self.calibration if isinstance(self.calibration, tuple) else (self.calibration,)

    def save(self, calibrations: Sequence[Calibration], tables: Sequence[Sequence[dict]],
             gate_tables: Sequence[Sequence[dict]] = ()) -> str:
        """One calibration is kept as it is (`calibration`), several as a tuple."""
        self.calibration = calibrations[0] if len(calibrations) == 1 else tuple(calibrations)
        self.tables.extend(tables)
        self.gate_tables = list(gate_tables)
        return self.location
