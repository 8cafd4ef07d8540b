"""The classifier gate (`model.decision_gate: classifier`): the image-level head vetoes false alarms.

A class's mask (after its threshold and min_area) is kept when the head's probability for that
class reaches the gate's `threshold`, or when the mask's largest component has at least
`area_bar` pixels: a strong mask overrules a weak classifier. Otherwise the part has no defect
of that class. Uncalibrated, the gate is (0.5, no bar).

`unet calibrate` chooses both per class on the evaluation images, on the rows below (one per
image: the head's probability and the kept mask's largest area and pixel counts), so every
candidate costs a few array sums. Candidate bars are the calibration's area steps above the
class's min_area, and "no bar". The open gate (threshold 0: every mask kept, the segmentation
rule alone) is a candidate and wins ties, so the chosen gate never scores below the rule on the
objective, on the images it was chosen on.
"""

from __future__ import annotations

from collections.abc import Sequence

import attrs
import numpy as np

from domain.errors import ConfigError
from domain.metrics import defined_ratio, image_auroc

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


@attrs.frozen
class ImageLevel:
    """Image-level scores of one decision: a part is defective when its mask is not empty."""

    image_precision: float
    image_recall: float
    image_F1: float
    false_alarm_rate: float  # good parts flagged / good parts
    defect_Dice: float
    image_AUROC: float | None = None  # of the score the decision ranks by, where defined

    @classmethod
    def of(cls, truth: Sequence[bool], flagged: Sequence[bool], tp: int = 0, fp: int = 0, fn: int = 0,
           scores: Sequence[float] | None = None) -> "ImageLevel":
        truth, flagged = np.asarray(truth, bool), np.asarray(flagged, bool)
        itp, ifp = int((truth & flagged).sum()), int((~truth & flagged).sum())
        ifn, good = int((truth & ~flagged).sum()), int((~truth).sum())
        return cls(
            image_precision=defined_ratio(itp, itp + ifp, other_side_empty=itp + ifn == 0),
            image_recall=defined_ratio(itp, itp + ifn, other_side_empty=itp + ifp == 0),
            image_F1=defined_ratio(2 * itp, 2 * itp + ifp + ifn, other_side_empty=True),
            false_alarm_rate=ifp / good if good else 0.0,
            defect_Dice=defined_ratio(2 * tp, 2 * tp + fp + fn, other_side_empty=True),
            image_AUROC=image_auroc(scores, truth) if scores is not None else None,
        )

    def as_dict(self) -> dict:
        return attrs.asdict(self)


def gated(rows: Sequence[GateRow], gate: Gate, scores: Sequence[float] | None = None) -> ImageLevel:
    """The scores of the rows' masks once the gate has emptied those it does not keep
    (`scores`: what image_AUROC ranks the images by). The rows' areas are in pixels of the
    images the bar was measured on (calibration and evaluation score the same images)."""
    kept = [row.largest_area > 0 and gate.keeps(row.probability, row.largest_area) for row in rows]
    tp = sum(row.tp for row, keep in zip(rows, kept) if keep)
    fp = sum(row.fp for row, keep in zip(rows, kept) if keep)
    truth = sum(row.truth_pixels for row in rows)
    return ImageLevel.of([row.truth_pixels > 0 for row in rows], kept, tp, fp, truth - tp, scores)


def side_by_side(rows: Sequence[GateRow], peaks: Sequence[float], gate: Gate) -> dict:
    """results.json's `gate` for one class: the gate, and the image-level scores of the
    segmentation rule alone (AUROC by the largest pixel probability) and of the gate (AUROC by
    the classifier's probability)."""
    return {**gate.as_dict(), "segmentation": gated(rows, Gate(OPEN), peaks).as_dict(),
            "classifier": gated(rows, gate, [row.probability for row in rows]).as_dict()}


@attrs.frozen
class GateCandidate:
    gate: Gate
    scores: ImageLevel

    def as_dict(self) -> dict:
        return {**self.gate.as_dict(), **self.scores.as_dict()}


@attrs.frozen
class GateSearch:
    candidates: tuple[GateCandidate, ...]
    best: GateCandidate
    baseline: GateCandidate  # the open gate: the segmentation rule alone


GATE_OBJECTIVES = ("defect_Dice", "image_F1")


def area_bars(min_area: int, steps: Sequence[int]) -> tuple[int | None, ...]:
    """The bars tried: each area step above the class's min_area, then no bar."""
    return (*sorted({int(a) for a in steps if int(a) > max(min_area, 0)}), None)


def search_gate(rows: Sequence[GateRow], bars: Sequence[int | None],
                thresholds: Sequence[float] = DEFAULT_GATE_THRESHOLDS, objective: str = "image_F1") -> GateSearch:
    """Every (threshold, bar) pair and the open gate; the best `objective` wins (then the other
    of defect Dice and image F1), ties going to the open gate, then to the threshold nearest
    0.5, then to the larger bar (no bar largest)."""
    if objective not in GATE_OBJECTIVES:
        raise ConfigError(f"--objective: unknown {objective!r}; expected one of: {', '.join(GATE_OBJECTIVES)}")
    baseline = GateCandidate(Gate(OPEN, None), gated(rows, Gate(OPEN, None)))
    candidates = (baseline, *(GateCandidate(gate, gated(rows, gate)) for gate in
                              (Gate(float(t), bar) for t in sorted(set(thresholds)) if t > OPEN for bar in bars)))
    other = "image_F1" if objective == "defect_Dice" else "defect_Dice"

    def rank(candidate: GateCandidate) -> tuple:
        bar = candidate.gate.area_bar
        return (-getattr(candidate.scores, objective), -getattr(candidate.scores, other), candidate is not baseline,
                abs(candidate.gate.threshold - 0.5), -(bar if bar is not None else np.inf))

    return GateSearch(candidates=candidates, best=min(candidates, key=rank), baseline=baseline)
