"""Calibration: the pixel threshold and smallest defect area that maximize defect Dice.

The search runs on component tables: for each image and candidate threshold, the area of each
connected predicted component and how many of its pixels are true defect. Removing the
components below `min_area` then changes the counts without labelling the image again, so
every (threshold, min_area) pair costs a few array sums.

The pair (0.5, 0) is always a candidate and wins ties, so calibration never lowers defect Dice
against the plain 0.5 rule on the data it was chosen on.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import attrs
import numpy as np

from unet_defects.domain.decision import Decision
from unet_defects.domain.errors import ConfigError
from unet_defects.domain.gate import GateRow, reaching
from unet_defects.domain.metrics import PartScores, part_scores

DEFAULT_THRESHOLDS = tuple(round(0.05 * step, 2) for step in range(1, 20))  # 0.05 .. 0.95
DEFAULT_MIN_AREAS = (0, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048)
BASELINE = (0.5, 0)


@attrs.frozen
class ComponentTable:
    """One image under one threshold: each predicted component's area and true-defect pixels,
    and the image's true defect pixels."""

    areas: np.ndarray = attrs.field(converter=lambda a: np.asarray(a, np.int64), eq=False)
    hits: np.ndarray = attrs.field(converter=lambda a: np.asarray(a, np.int64), eq=False)
    truth_pixels: int = 0

    @classmethod
    def of_labels(cls, labels: np.ndarray, count: int, truth: np.ndarray) -> ComponentTable:
        """From a decision's labelled components (0 the background, 1..count) and the truth."""
        truth = np.asarray(truth, bool)
        return cls(areas=np.bincount(labels.ravel(), minlength=count + 1)[1:],
                   hits=np.bincount(labels[truth], minlength=count + 1)[1:], truth_pixels=int(np.count_nonzero(truth)))

    def counts(self, min_area: int) -> tuple[int, int, int, bool]:
        """(tp, fp, fn, predicted defective) once components below `min_area` are removed."""
        kept = self.areas >= max(min_area, 1)
        tp = int(self.hits[kept].sum())
        fp = int(self.areas[kept].sum()) - tp
        return tp, fp, self.truth_pixels - tp, bool(kept.any())

    def gate_row(self, min_area: int, probability: float) -> GateRow:
        """The image under (this threshold, `min_area`) as the classifier gate's search sees it."""
        kept = self.areas >= max(min_area, 1)
        tp, fp, _, _ = self.counts(min_area)
        return GateRow(probability=probability, largest_area=int(self.areas[kept].max()) if kept.any() else 0,
                       tp=tp, fp=fp, truth_pixels=self.truth_pixels)


@attrs.frozen
class CandidateScores:
    threshold: float
    min_area: int
    defect_Dice: float
    image_precision: float
    image_recall: float
    image_F1: float
    false_alarm_rate: float | None = None  # good parts flagged / good parts (None: no good part; older files)

    @classmethod
    def of(cls, threshold: float, min_area: int, scores: PartScores) -> CandidateScores:
        """The pair and the part scores it leaves, in calibration.json's key order (no AUROC)."""
        return cls(threshold=threshold, min_area=min_area, defect_Dice=scores.defect_Dice,
                   image_precision=scores.image_precision, image_recall=scores.image_recall, image_F1=scores.image_F1,
                   false_alarm_rate=scores.false_alarm_rate)

    def as_dict(self) -> dict:
        return attrs.asdict(self)


@attrs.frozen
class Calibration:
    """What `unet calibrate` chose, the decision that predict, export and evaluation apply
    (its area_at: the size the areas were measured at, None when images were scored at their
    own scale; with a classifier head, the gate chosen, applied unless the model's config only
    reports it), and the search's evidence: the pixel pair's scores before and after, and the
    image-level scores of the segmentation rule alone and of the gate."""

    decision: Decision
    chosen_on: str = ""
    before: CandidateScores | None = None
    after: CandidateScores | None = None
    gate_before: PartScores | None = None
    gate_after: PartScores | None = None


def score_candidate(tables: Sequence[ComponentTable], threshold: float, min_area: int) -> CandidateScores:
    """Pooled defect Dice and the image-level decision "defective when any component remains"."""
    counts = [table.counts(min_area) for table in tables]
    tp, fp, fn = (sum(found[i] for found in counts) for i in range(3))
    return CandidateScores.of(threshold, min_area, part_scores([table.truth_pixels > 0 for table in tables],
                                                               [found[3] for found in counts], tp, fp, fn))


@attrs.frozen
class CalibrationSearch:
    candidates: tuple[CandidateScores, ...]
    best: CandidateScores
    baseline: CandidateScores


OBJECTIVES = ("defect_Dice", "image_F1")
# min_area never removes more than about this share of the true defects: a component that real
# defects are as small as is not noise to drop, whatever pooled Dice (which large defects rule) says.
SMALL_DEFECT_SHARE = 0.1


def min_area_cap(true_areas: Sequence[int], share: float = SMALL_DEFECT_SHARE) -> int | None:
    """The largest min_area worth trying: the area under which `share` of the true defects (their
    8-connected components on the calibration images) lie; None without a true defect."""
    areas = np.sort(np.asarray(true_areas, np.int64))
    if not areas.size:
        return None
    return int(areas[int(np.floor(share * (areas.size - 1)))])


def capped(min_areas: Sequence[int], cap: int | None) -> tuple[int, ...]:
    """The candidate areas up to the cap (0 always), or all of them without one."""
    return tuple(sorted({0, *(int(a) for a in min_areas if cap is None or int(a) <= cap)}))


def search(tables: Mapping[float, Sequence[ComponentTable]], min_areas: Sequence[int] = DEFAULT_MIN_AREAS,
           objective: str = "defect_Dice", image_recall: float | None = None) -> CalibrationSearch:
    """Every (threshold, min_area) pair; the best `objective` wins (then the better defect
    Dice), ties going to the baseline, then to the threshold nearest 0.5, then to the smaller
    min_area. So the chosen pair never scores below the baseline on the objective. With
    `image_recall` (a part verdict without a classifier head: a part is defective when its mask
    is not empty), the pairs whose image recall reaches it compete instead: the fewest false
    alarms win, then the better defect Dice, then the ties as above."""
    if BASELINE[0] not in tables:
        raise ValueError("the thresholds searched must include 0.5")
    if objective not in OBJECTIVES:
        raise ConfigError(f"--objective: unknown {objective!r}; expected one of: {', '.join(OBJECTIVES)}")
    areas = sorted({0, *(int(a) for a in min_areas)})
    candidates = tuple(score_candidate(images, threshold, area)
                       for threshold, images in sorted(tables.items()) for area in areas)
    baseline = next(c for c in candidates if (c.threshold, c.min_area) == BASELINE)

    def ties(candidate: CandidateScores) -> tuple:
        return (candidate is not baseline, abs(candidate.threshold - 0.5), candidate.min_area)

    if image_recall is None:
        best = min(candidates, key=lambda c: (-getattr(c, objective), -c.defect_Dice, *ties(c)))
    else:
        images = len(next(iter(tables.values())))
        best = min(reaching(candidates, image_recall, lambda c: c, images),
                   key=lambda c: (c.false_alarm_rate or 0.0, -c.defect_Dice, *ties(c)))
    return CalibrationSearch(candidates=candidates, best=best, baseline=baseline)
