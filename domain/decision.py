"""A class's decision: how its probability map becomes a mask and the part a verdict. One value
for every place a decision lives (the config's rule, calibration.json, an export's manifest,
the flags) and one JSON shape for every file and answer that records it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol

import attrs
import numpy as np

from unet_defects.domain.errors import ConfigError
from unet_defects.domain.gate import OPEN, Gate

if TYPE_CHECKING:
    from unet_defects.domain.calibration import ComponentTable


def check_pixel_decision(threshold: float, min_area: int, where: str) -> None:
    """A probability threshold in (0, 1) and a min_area of 0 or more pixels."""
    if not 0.0 < threshold < 1.0:
        raise ConfigError(f"threshold must be in (0, 1) (a probability), got {threshold:g} ({where})")
    if min_area < 0:
        raise ConfigError(f"min_area must be 0 or more pixels, got {min_area} ({where})")


def scaled_min_area(min_area: int, area_at: tuple[int, int] | None, height: int, width: int) -> int:
    """min_area (measured at `area_at`, None: at the image's own scale) in pixels of an image
    of this size."""
    if area_at is None or min_area == 0:
        return min_area
    return max(1, round(min_area * height * width / (area_at[0] * area_at[1])))


class ComponentLabels(Protocol):
    """What a decision needs of connected-component labelling (the application's Components)."""

    def remove_small(self, decision: np.ndarray, min_area: int) -> np.ndarray: ...

    def table(self, decision: np.ndarray, truth: np.ndarray) -> ComponentTable: ...


@attrs.frozen
class Decision:
    """Defect where the probability exceeds `threshold`, then components of fewer than
    `min_area` pixels removed (`area_at`: the size min_area was measured at, None for the
    image's own scale). With a classifier head, its `gate` (domain.gate), applied to the part's
    verdict when `gated` (model.decision_gate: classifier), else only reported beside the rule.
    `origin` says where the values came from, for the user. `class_id` and `name` name the class
    of a model of several; a one-class model's decision names none."""

    threshold: float
    min_area: int = 0
    area_at: tuple[int, int] | None = None
    origin: str = attrs.field(default="the config", eq=False)  # where it came from is not what it is
    # The gate's area bar scales as min_area does, from the gate's own area_at, so a --min_area
    # flag leaves it as calibrated.
    gate: Gate | None = None
    gated: bool = False
    # Not part of what the decision is: one decision may hold for several classes.
    class_id: int | None = attrs.field(default=None, kw_only=True, eq=False)
    name: str = attrs.field(default="", kw_only=True, eq=False)

    def __attrs_post_init__(self) -> None:
        check_pixel_decision(self.threshold, self.min_area, f"from {self.origin}")

    def min_area_for(self, height: int, width: int) -> int:
        return scaled_min_area(self.min_area, self.area_at, height, width)

    def segmented(self, probabilities: np.ndarray, components: ComponentLabels | None) -> np.ndarray:
        """The thresholded map; components are labelled only when some could be removed."""
        decision = np.asarray(probabilities) > self.threshold
        min_area = self.min_area_for(*decision.shape[:2])
        if min_area <= 1:
            return decision
        if components is None:
            raise ValueError("min_area needs the components adapter")
        return components.remove_small(decision, min_area)

    def flags(self, decided: np.ndarray, image_probability: float | None, components: ComponentLabels | None,
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

    def decide(self, probabilities: np.ndarray, components: ComponentLabels | None,
               image_probability: float | None = None) -> tuple[np.ndarray, bool]:
        """(the segmented map, emptied when the part is called good; the part's verdict)."""
        decided = self.segmented(probabilities, components)
        flagged = self.flags(decided, image_probability, components)
        return (decided if flagged else np.zeros_like(decided)), flagged

    def apply(self, probabilities: np.ndarray, components: ComponentLabels | None,
              image_probability: float | None = None) -> np.ndarray:
        """The segmented map, emptied when the part is called good."""
        return self.decide(probabilities, components, image_probability)[0]

    def with_flags(self, threshold: float | None, min_area: int | None) -> Decision:
        """--threshold and --min_area over this decision (a calibration, a manifest or the
        config); the gate stays as it is."""
        if threshold is None and min_area is None:
            return self
        origin = "the flags" if threshold is not None and min_area is not None else f"the flags and {self.origin}"
        return attrs.evolve(self, threshold=self.threshold if threshold is None else threshold,
                            min_area=self.min_area if min_area is None else min_area,
                            area_at=self.area_at if min_area is None else None, origin=origin)

    def describe(self) -> str:
        area = f", min_area {self.min_area}" if self.min_area else ""
        gate = f", {self.gate.describe()}" if self.gated and self.gate is not None else ""
        return f"threshold {self.threshold:g}{area}{gate} from {self.origin}"

    def to_json(self, *, area_at: bool = True, gate_area_at: bool = True) -> dict[str, Any]:
        """The decision's one JSON shape: `class_id` and `name` (a class of several), `threshold`,
        `min_area`, `area_at` and the applied gate (`threshold`, `area_bar`, `area_at`). A file
        leaves out what it records elsewhere or not at all (docs/scores.md, "A decision")."""
        found: dict[str, Any] = {}
        if self.class_id is not None:
            found.update(class_id=self.class_id, name=self.name)
        found.update(threshold=self.threshold, min_area=self.min_area)
        if area_at:
            found["area_at"] = _size(self.area_at)
        if self.gated and self.gate is not None:
            found["gate"] = {"threshold": self.gate.threshold, "area_bar": self.gate.area_bar}
            if gate_area_at:
                found["gate"]["area_at"] = _size(self.gate.area_at)
        return found

    @classmethod
    def from_json(cls, payload: dict[str, Any], origin: str, area_at: tuple[int, int] | None = None) -> Decision:
        """A decision as `to_json` wrote it (keys it leaves out default: `area_at` to the given
        size, the gate's to the decision's); a gate read is applied (the caller may report it only)."""
        size = _read_size(payload["area_at"]) if "area_at" in payload else area_at
        gate = payload.get("gate")
        held = None if gate is None else Gate(gate["threshold"], gate["area_bar"],
                                               _read_size(gate["area_at"]) if "area_at" in gate else size)
        return cls(payload["threshold"], payload.get("min_area", 0), size, origin, gate=held, gated=held is not None,
                   class_id=payload.get("class_id"), name=payload.get("name", ""))


def _size(size: tuple[int, int] | None) -> list[int] | None:
    return list(size) if size else None


def _read_size(held: Any) -> tuple[int, int] | None:
    return (int(held[0]), int(held[1])) if held else None


def decisions_json(decisions: Sequence[Decision], **context: Any) -> dict[str, Any]:
    """A model's decisions as a record states them (predictions.jsonl's lines, the server's
    answers), with the record's own `context` keys: one class flat (threshold, min_area, the
    context, the applied gate), several as the context and a `classes` list of the classes'
    decisions. Neither holds area_at: a record is of an image at its own size."""
    entries = [decision.to_json(area_at=False, gate_area_at=False) for decision in decisions]
    if len(entries) > 1:
        return {**context, "classes": entries}
    gate = entries[0].pop("gate", None)
    return {**entries[0], **context, **({} if gate is None else {"gate": gate})}
