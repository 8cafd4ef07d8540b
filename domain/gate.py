"""The part verdict of a classifier head (`model.decision_gate: classifier`): the head decides
whether the part is defective, and the masks of parts it calls good are emptied.

A part is defective by a class when the head's probability for that class reaches the gate's
`threshold`, or when the class's mask (after its threshold and min_area) has a component of at
least `area_bar` pixels: a strong mask overrules a weak classifier. A part the head flags is
defective even where its mask is empty (the head finds parts the pixels miss); a part it does
not flag has no defect of that class. The open gate (threshold 0) is the segmentation rule alone:
defective when the mask is not empty. Uncalibrated, the gate is (0.5, no bar).

`unet calibrate` (and a planned run, at its end) chooses both per class on the evaluation
images, on the rows below (one per image: the head's probability and the kept mask's largest
area and pixel counts), so every candidate costs a few array sums: the best image F1, or with a
recall target the fewest false alarms among the gates that reach it. Candidate bars are the
calibration's area steps above the class's min_area, and "no bar". The open gate is a candidate
and wins ties, so the chosen gate never scores below the rule on the objective, on the images it
was chosen on.
"""

from __future__ import annotations

from collections.abc import Sequence

import attrs
import numpy as np
from numpy.typing import ArrayLike

from unet_defects.domain.errors import ConfigError, DataError
from unet_defects.domain.metrics import PartScores, part_scores

OPEN = 0.0  # a gate threshold that keeps every mask: the segmentation rule alone
DEFAULT_GATE_THRESHOLDS = tuple(round(0.05 * step, 2) for step in range(1, 20))


@attrs.frozen
class Gate:
    threshold: float = 0.5
    area_bar: int | None = None  # None: no mask overrules the classifier
    # The size the bar was measured at (the calibration's area_at; None: the image's own scale).
    area_at: tuple[int, int] | None = attrs.field(default=None, eq=False)

    def __attrs_post_init__(self) -> None:
        if not 0.0 <= self.threshold < 1.0:
            raise ConfigError(f"gate threshold must be in [0, 1) (a probability), got {self.threshold:g}")
        if self.area_bar is not None and self.area_bar < 1:
            raise ConfigError(f"gate area_bar must be 1 or more pixels (or none), got {self.area_bar}")

    def keeps(self, probability: float, largest_area: int, area_bar: int | None = None) -> bool:
        """Whether the class's mask stands; `area_bar`: the bar scaled to this image (default: its own)."""
        bar = self.area_bar if area_bar is None else area_bar
        return probability >= self.threshold or (bar is not None and largest_area >= bar)

    def flags(self, probability: float, largest_area: int, area_bar: int | None = None) -> bool:
        """The part's verdict for this class: defective by the head (even with an empty mask) or by
        a component at the bar; the open gate flags a part whose mask is not empty."""
        if self.threshold == OPEN:
            return largest_area > 0
        return self.keeps(probability, largest_area, area_bar)

    def bar_for(self, height: int, width: int) -> int | None:
        """The area bar in pixels of an image of this size (scaled as min_area is)."""
        if self.area_bar is None or self.area_at is None:
            return self.area_bar
        return max(1, round(self.area_bar * height * width / (self.area_at[0] * self.area_at[1])))

    def describe(self) -> str:
        if self.threshold == OPEN:
            return "classifier gate open (every mask kept)"
        bar = f", or a component of {self.area_bar} pixels" if self.area_bar is not None else ""
        return f"classifier gate {self.threshold:g}{bar}"

    def as_dict(self) -> dict:
        return {"threshold": self.threshold, "area_bar": self.area_bar}


@attrs.frozen
class GateRow:
    """One image and class under the segmentation rule: the head's probability, the kept mask's
    largest component, its true and false defect pixels, and the truth's defect pixels."""

    probability: float
    largest_area: int
    tp: int
    fp: int
    truth_pixels: int


# A gate block (results.json's `gate`, calibration.json's gate before, after and candidates) writes
# this false-alarm rate where the images hold no good part: 0.0, as the gate's own scores gave it
# before part_scores became the one computation (which gives None there, and calibration.json's
# pixel candidates write null). Kept so that the gate's JSON does not change; gate_json is its one use.
GATE_NO_GOOD_PART = 0.0


def gate_json(scores: PartScores) -> dict:
    """A gate block's scores as JSON: PartScores' keys in its order, a None false-alarm rate
    written as GATE_NO_GOOD_PART."""
    found = scores.as_dict()
    if found["false_alarm_rate"] is None:
        found["false_alarm_rate"] = GATE_NO_GOOD_PART
    return found


@attrs.frozen(eq=False)
class GateTable:
    """The rows as arrays, so each candidate gate costs a few vectorized sums."""

    probability: np.ndarray
    largest_area: np.ndarray
    tp: np.ndarray
    fp: np.ndarray
    truth_pixels: np.ndarray

    @classmethod
    def of(cls, rows: Sequence[GateRow]) -> GateTable:
        column = lambda name, kind: np.asarray([getattr(row, name) for row in rows], kind)  # noqa: E731
        return cls(column("probability", np.float64), column("largest_area", np.int64), column("tp", np.int64),
                   column("fp", np.int64), column("truth_pixels", np.int64))

    def flags(self, gate: Gate) -> np.ndarray:
        """Each part's verdict under the gate (Gate.flags, for every row at once)."""
        if gate.threshold == OPEN:
            return self.largest_area > 0
        flagged = self.probability >= gate.threshold
        return flagged | (self.largest_area >= gate.area_bar) if gate.area_bar is not None else flagged

    def scores(self, gate: Gate, scores: ArrayLike | None = None) -> PartScores:
        kept = self.flags(gate)
        tp, fp = int(self.tp[kept].sum()), int(self.fp[kept].sum())
        return part_scores(self.truth_pixels > 0, kept, tp, fp, int(self.truth_pixels.sum()) - tp, scores)


def side_by_side(rows: Sequence[GateRow], peaks: Sequence[float], gate: Gate) -> dict:
    """results.json's `gate` for one class: the gate, and the image-level scores of the
    segmentation rule alone (AUROC by the largest pixel probability) and of the gate (AUROC by
    the classifier's probability)."""
    table = GateTable.of(rows)
    return {**gate.as_dict(), "segmentation": gate_json(table.scores(Gate(OPEN), peaks)),
            "classifier": gate_json(table.scores(gate, table.probability))}


@attrs.frozen
class GateCandidate:
    gate: Gate
    scores: PartScores

    def as_dict(self) -> dict:
        return {**self.gate.as_dict(), **gate_json(self.scores)}


@attrs.frozen
class GateSearch:
    candidates: tuple[GateCandidate, ...]
    best: GateCandidate
    baseline: GateCandidate  # the open gate: the segmentation rule alone


GATE_OBJECTIVES = ("defect_Dice", "image_F1")


def area_bars(min_area: int, steps: Sequence[int]) -> tuple[int | None, ...]:
    """The bars tried: each area step above the class's min_area, then no bar."""
    return (*sorted({int(a) for a in steps if int(a) > max(min_area, 0)}), None)


def recall_thresholds(rows: Sequence[GateRow], thresholds: Sequence[float]) -> tuple[float, ...]:
    """`thresholds` and every head probability of the rows below 1: a recall target is then
    met exactly where the ranking allows it, not only at the grid's steps."""
    return tuple(sorted({float(t) for t in thresholds} | {row.probability for row in rows if OPEN < row.probability < 1}))


def search_gate(rows: Sequence[GateRow], bars: Sequence[int | None],
                thresholds: Sequence[float] = DEFAULT_GATE_THRESHOLDS, objective: str = "image_F1",
                image_recall: float | None = None) -> GateSearch:
    """Every (threshold, bar) pair and the open gate. Without `image_recall`: the best
    `objective` wins (then the other of defect Dice and image F1), ties going to the open gate,
    then to the threshold nearest 0.5, then to the larger bar (no bar largest). With it: among
    the candidates whose image recall reaches it (the thresholds then include every head
    probability), the fewest false alarms win, then the better image F1 and defect Dice, then
    the ties as above; a target that none reaches is a DataError naming the highest recall."""
    if objective not in GATE_OBJECTIVES:
        raise ConfigError(f"--objective: unknown {objective!r}; expected one of: {', '.join(GATE_OBJECTIVES)}")
    if image_recall is not None:
        thresholds = recall_thresholds(rows, thresholds)
    table = GateTable.of(rows)
    baseline = GateCandidate(Gate(OPEN, None), table.scores(Gate(OPEN, None)))
    candidates = (baseline, *(GateCandidate(gate, table.scores(gate)) for gate in
                              (Gate(float(t), bar) for t in sorted(set(thresholds)) if t > OPEN for bar in bars)))
    other = "image_F1" if objective == "defect_Dice" else "defect_Dice"

    def ties(candidate: GateCandidate) -> tuple:
        bar = candidate.gate.area_bar
        return (candidate is not baseline, abs(candidate.gate.threshold - 0.5), -(bar if bar is not None else np.inf))

    if image_recall is None:
        best = min(candidates, key=lambda c: (-getattr(c.scores, objective), -getattr(c.scores, other), *ties(c)))
    else:
        best = min(reaching(candidates, image_recall, lambda c: c.scores, len(rows)),
                   key=lambda c: (c.scores.false_alarm_rate or 0.0, -c.scores.image_F1, -c.scores.defect_Dice, *ties(c)))
    return GateSearch(candidates=candidates, best=best, baseline=baseline)


def check_recall_target(image_recall: float | None, where: str = "--image_recall") -> None:
    if image_recall is not None and not 0.0 < image_recall <= 1.0:
        raise ConfigError(f"{where}: a recall of defective parts in (0, 1], got {image_recall:g}")


def reaching(candidates: Sequence, image_recall: float, scores, images: int) -> list:
    """The candidates whose image recall reaches the target (`scores(candidate)` gives its
    image-level scores), or a DataError naming the highest recall any of them reaches."""
    check_recall_target(image_recall)
    found = [c for c in candidates if scores(c).image_recall >= image_recall - 1e-12]
    if not found:
        highest = max(scores(c).image_recall for c in candidates)
        raise DataError(f"image_recall {image_recall:g}: no candidate decision reaches it on the {images} calibration "
                        f"images (the highest is {highest:.3f}); lower the target (--image_recall, "
                        "runconfig.image_recall) or calibrate on more defective parts")
    return found
