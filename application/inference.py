"""What predict, evaluation and export share: the pixel decision (threshold, then the removal
of small components) and test-time augmentation around any inference engine."""

from __future__ import annotations

import attrs
import numpy as np

from unet_defects.application.ports import CalibrationStore, Components, InferenceEngine
from unet_defects.domain import tta as augmentation
from unet_defects.domain.calibration import check_pixel_decision, scaled_min_area
from unet_defects.domain.gate import OPEN, Gate


@attrs.frozen
class Decision:
    """Defect where the probability exceeds `threshold`, then components of fewer than
    `min_area` pixels removed (`area_at`: the size min_area was measured at, None for the
    image's own scale). `origin` says where the values came from, for the user."""

    threshold: float
    min_area: int = 0
    area_at: tuple[int, int] | None = None
    origin: str = "the config"
    # With a classifier head: its gate (domain.gate; its area bar scales as min_area does, from
    # its own area_at, so a --min_area flag leaves it as calibrated), and
    # whether it is applied (model.decision_gate: classifier) or only reported beside the rule.
    gate: Gate | None = None
    gated: bool = False

    def __attrs_post_init__(self) -> None:
        check_pixel_decision(self.threshold, self.min_area, f"from {self.origin}")

    def min_area_for(self, height: int, width: int) -> int:
        return scaled_min_area(self.min_area, self.area_at, height, width)

    def segmented(self, probabilities: np.ndarray, components: Components | None) -> np.ndarray:
        """The thresholded map; components are labelled only when some could be removed."""
        decision = np.asarray(probabilities) > self.threshold
        min_area = self.min_area_for(*decision.shape[:2])
        if min_area <= 1:
            return decision
        if components is None:
            raise ValueError("min_area needs the components adapter")
        return components.remove_small(decision, min_area)

    def flags(self, decided: np.ndarray, image_probability: float | None, components: Components | None,
              largest: int | None = None) -> bool:
        """The part's verdict for this class: its decided mask is not empty, or with the gate applied
        (and the head's probability given), the gate's verdict, which may flag a part whose mask is
        empty. `largest`: the mask's largest component when the caller has labelled it already."""
        gate = self.gate or Gate()
        if not self.gated or image_probability is None or gate.threshold == OPEN:
            return bool(decided.any())
        if image_probability >= gate.threshold:
            return True
        if gate.area_bar is None or not decided.any():
            return False
        if largest is None:
            if components is None:
                raise ValueError("the gate's area bar needs the components adapter")
            largest = int(components.table(decided, np.zeros_like(decided)).areas.max())
        return gate.flags(image_probability, largest, gate.bar_for(*decided.shape[:2]))

    def gate_entry(self) -> dict:
        """`{"gate": {threshold, area_bar}}` when the gate is applied, else empty: what the
        decision's JSON records (predictions.jsonl, the server) add."""
        return {"gate": self.gate.as_dict()} if self.gated and self.gate is not None else {}

    def decide(self, probabilities: np.ndarray, components: Components | None,
               image_probability: float | None = None) -> tuple[np.ndarray, bool]:
        """(the segmented map, emptied when the part is called good; the part's verdict)."""
        decided = self.segmented(probabilities, components)
        flagged = self.flags(decided, image_probability, components)
        return (decided if flagged else np.zeros_like(decided)), flagged

    def apply(self, probabilities: np.ndarray, components: Components | None,
              image_probability: float | None = None) -> np.ndarray:
        """The segmented map, emptied when the part is called good."""
        return self.decide(probabilities, components, image_probability)[0]

    def describe(self) -> str:
        area = f", min_area {self.min_area}" if self.min_area else ""
        gate = f", {self.gate.describe()}" if self.gated and self.gate is not None else ""
        return f"threshold {self.threshold:g}{area}{gate} from {self.origin}"


def calibrated(config_threshold: float, store: CalibrationStore | None,
               class_ids: tuple[int, ...] = (1,), gate: str | None = None) -> tuple[Decision, ...]:
    """One decision per class: the model_dir's calibration when it has one, else the config's rule.
    `gate`: None without a classifier head, else model.decision_gate (none: reported, classifier:
    applied), with the calibrated gate or the default one."""
    calibrations = store.load(class_ids) if store is not None else None
    head, gated = gate is not None, gate == "classifier"
    if calibrations is None or store is None:
        return tuple(Decision(config_threshold, gated=gated, gate=Gate() if head else None) for _ in class_ids)
    return tuple(Decision(c.threshold, c.min_area, c.area_at, store.location, gated=gated,
                          gate=attrs.evolve(c.gate or Gate(), area_at=c.area_at) if head else None)
                 for c in calibrations)


def decision_with_flags(base: Decision, threshold: float | None, min_area: int | None) -> Decision:
    """The flags given over `base` (a calibration, a manifest or the config); the gate stays."""
    if threshold is None and min_area is None:
        return base
    origin = "the flags" if threshold is not None and min_area is not None else f"the flags and {base.origin}"
    return attrs.evolve(base, threshold=base.threshold if threshold is None else threshold,
                        min_area=base.min_area if min_area is None else min_area,
                        area_at=base.area_at if min_area is None else None, origin=origin)


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
