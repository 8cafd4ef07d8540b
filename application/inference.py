"""What predict, evaluation and export share: the decisions a model_dir's session runs with
(its calibration, else the config's rule) and test-time augmentation around any engine."""

from __future__ import annotations

import attrs
import numpy as np

from unet_defects.application.ports import CalibrationStore, InferenceEngine
from unet_defects.domain import tta as augmentation
from unet_defects.domain.decision import Decision
from unet_defects.domain.gate import Gate


def calibrated(config_threshold: float, store: CalibrationStore | None,
               class_ids: tuple[int, ...] = (1,), gate: str | None = None) -> tuple[Decision, ...]:
    """One decision per class: the model_dir's calibration when it has one, else the config's rule.
    `gate`: None without a classifier head, else model.decision_gate (none: reported, classifier:
    applied), with the calibrated gate or the default one."""
    calibrations = store.load(class_ids) if store is not None else None
    head, gated = gate is not None, gate == "classifier"
    if calibrations is None or store is None:
        return tuple(Decision(config_threshold, gated=gated, gate=Gate() if head else None) for _ in class_ids)
    return tuple(attrs.evolve(c.decision, origin=store.location, gated=gated,
                              gate=(c.decision.gate or Gate(area_at=c.decision.area_at)) if head else None)
                 for c in calibrations)


class AveragedEngine:
    """An engine whose probabilities are averaged over the TTA mode's flips and turns."""

    def __init__(self, engine: InferenceEngine, mode: str) -> None:
        augmentation.transforms(mode)  # an unknown mode fails here, before any work
        self._engine = engine
        self._mode = mode
        self.name = engine.name
        self.has_classifier = engine.has_classifier

    def outputs(self, batch: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        return augmentation.averaged(self._engine.outputs, batch, self._mode)


def with_tta(engine: InferenceEngine, mode: str | None) -> InferenceEngine:
    return engine if mode in (None, "none") else AveragedEngine(engine, mode)
