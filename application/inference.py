"""What predict, evaluation and export share: the pixel decision (threshold, then the removal
of small components) and test-time augmentation around any inference engine."""

from __future__ import annotations

import attrs
import numpy as np

from application.ports import CalibrationStore, Components, InferenceEngine
from domain import tta as augmentation
from domain.calibration import check_pixel_decision, scaled_min_area


@attrs.frozen
class Decision:
    """Defect where the probability exceeds `threshold`, then components of fewer than
    `min_area` pixels removed (`area_at`: the size min_area was measured at, None for the
    image's own scale). `origin` says where the values came from, for the user."""

    threshold: float
    min_area: int = 0
    area_at: tuple[int, int] | None = None
    origin: str = "the config"

    def __attrs_post_init__(self) -> None:
        check_pixel_decision(self.threshold, self.min_area, f"from {self.origin}")

    def min_area_for(self, height: int, width: int) -> int:
        return scaled_min_area(self.min_area, self.area_at, height, width)

    def apply(self, probabilities: np.ndarray, components: Components | None) -> np.ndarray:
        """The thresholded map; components are labelled only when some could be removed."""
        decision = np.asarray(probabilities) > self.threshold
        min_area = self.min_area_for(*decision.shape[:2])
        if min_area <= 1:
            return decision
        if components is None:
            raise ValueError("min_area needs the components adapter")
        return components.remove_small(decision, min_area)

    def describe(self) -> str:
        area = f", min_area {self.min_area}" if self.min_area else ""
        return f"threshold {self.threshold:g}{area} from {self.origin}"


def calibrated(config_threshold: float, store: CalibrationStore | None,
               class_ids: tuple[int, ...] = (1,)) -> tuple[Decision, ...]:
    """One decision per class: the model_dir's calibration when it has one, else the config's rule."""
    calibrations = store.load(class_ids) if store is not None else None
    if calibrations is None:
        return tuple(Decision(config_threshold) for _ in class_ids)
    return tuple(Decision(c.threshold, c.min_area, c.area_at, store.location) for c in calibrations)


def settle_decision(base: Decision, threshold: float | None, min_area: int | None) -> Decision:
    """The flags given over `base` (a calibration, a manifest or the config)."""
    if threshold is None and min_area is None:
        return base
    origin = "the flags" if threshold is not None and min_area is not None else f"the flags and {base.origin}"
    return Decision(base.threshold if threshold is None else threshold,
                    base.min_area if min_area is None else min_area,
                    base.area_at if min_area is None else None, origin)


class AveragedEngine:
    """An engine whose probabilities are averaged over the TTA mode's flips and turns."""

    def __init__(self, engine: InferenceEngine, mode: str) -> None:
        augmentation.transforms(mode)  # an unknown mode fails here, before any work
        self._engine = engine
        self._mode = mode
        self.name = engine.name

    def probabilities(self, batch: np.ndarray) -> np.ndarray:
        return augmentation.averaged(self._engine.probabilities, batch, self._mode)


def with_tta(engine: InferenceEngine, mode: str | None) -> InferenceEngine:
    return engine if mode in (None, "none") else AveragedEngine(engine, mode)
