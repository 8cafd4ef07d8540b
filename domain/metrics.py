"""Segmentation scores from a 2x2 confusion matrix (background, defect).

Definitions (the README repeats them):
- mIOU, DSC: per-class IoU / Dice averaged over the classes whose denominator is not zero,
  background included, as the reference reports them.
- MPCA: per-class recall averaged over the classes present in the truth. Acc: pixel accuracy.
- defect_IoU, defect_Dice: the defect class alone; 1.0 when truth and prediction are both empty.
- per_image_Dice: defect Dice of each image averaged over images, empty/empty = 1 (Kaggle).
- image_precision, image_recall, image_F1: the part-level decision, "is this image defective?":
  an image is defective in truth when its mask is not empty, and predicted defective when any
  pixel is predicted defect (or, with a classifier head's applied gate, when its verdict says
  so). With nothing predicted (or nothing to find) a score whose
  denominator is zero is 1 when the other side is empty too, else 0. part_scores computes these
  (and the false-alarm rate and pooled defect Dice) for evaluation, calibration and the gate alike.
- image_AUROC: how well the part score (domain.part_score: a classifier head's probability,
  else the image's largest defect probability) ranks defective images above good ones (the area
  under the ROC curve, ties counting half); None unless both kinds occur.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import attrs
import numpy as np
from numpy.typing import ArrayLike

SCORE_NAMES = ("mIOU", "DSC", "MPCA", "Acc", "defect_IoU", "defect_Dice", "per_image_Dice", "image_precision",
               "image_recall", "image_F1", "image_AUROC")


@attrs.frozen
class ConfusionMatrix:
    """Pixel counts: tn, fp, fn, tp, with the defect class as positive."""

    tn: int = 0
    fp: int = 0
    fn: int = 0
    tp: int = 0

    @classmethod
    def from_masks(
        cls, truth: np.ndarray, prediction: np.ndarray, weights: np.ndarray | None = None
    ) -> ConfusionMatrix:
        """Counts from boolean masks of equal shape; pixels with weight 0 are not counted."""
        truth = np.asarray(truth, dtype=bool)
        prediction = np.asarray(prediction, dtype=bool)
        if truth.shape != prediction.shape:
            raise ValueError(f"truth shape {truth.shape} differs from prediction shape {prediction.shape}")
        keep = np.ones(truth.shape, bool) if weights is None else np.asarray(weights) > 0
        return cls(
            tn=int(np.count_nonzero(~truth & ~prediction & keep)),
            fp=int(np.count_nonzero(~truth & prediction & keep)),
            fn=int(np.count_nonzero(truth & ~prediction & keep)),
            tp=int(np.count_nonzero(truth & prediction & keep)),
        )

    @classmethod
    def from_counts(cls, counts: Sequence[int]) -> ConfusionMatrix:
        tn, fp, fn, tp = (int(c) for c in counts)
        return cls(tn=tn, fp=fp, fn=fn, tp=tp)

    def __add__(self, other: ConfusionMatrix) -> ConfusionMatrix:
        return ConfusionMatrix(
            self.tn + other.tn, self.fp + other.fp, self.fn + other.fn, self.tp + other.tp
        )

    @property
    def total(self) -> int:
        return self.tn + self.fp + self.fn + self.tp

    def per_class(self) -> tuple[tuple[int, int, int], tuple[int, int, int]]:
        """(tp, fp, fn) of the background class and of the defect class."""
        return (self.tn, self.fn, self.fp), (self.tp, self.fp, self.fn)


def _mean_defined(values: Iterable[tuple[int, int]]) -> float:
    """Mean of numerator/denominator over the pairs whose denominator is not zero."""
    ratios = [num / den for num, den in values if den > 0]
    return float(np.mean(ratios)) if ratios else 0.0


def mean_iou(cm: ConfusionMatrix) -> float:
    return _mean_defined((tp, tp + fp + fn) for tp, fp, fn in cm.per_class())


def mean_dice(cm: ConfusionMatrix) -> float:
    return _mean_defined((2 * tp, 2 * tp + fp + fn) for tp, fp, fn in cm.per_class())


def mean_per_class_accuracy(cm: ConfusionMatrix) -> float:
    return _mean_defined((tp, tp + fn) for tp, fp, fn in cm.per_class())


def pixel_accuracy(cm: ConfusionMatrix) -> float:
    return (cm.tp + cm.tn) / cm.total if cm.total else 0.0


def defect_iou(cm: ConfusionMatrix) -> float:
    denominator = cm.tp + cm.fp + cm.fn
    return cm.tp / denominator if denominator else 1.0


def defect_dice(cm: ConfusionMatrix) -> float:
    return dice(cm.tp, cm.fp, cm.fn)


def per_image_dice(images: Sequence[ConfusionMatrix]) -> float:
    """Mean over images of the defect Dice, an empty truth with an empty prediction scoring 1."""
    return float(np.mean([defect_dice(cm) for cm in images])) if images else 0.0


def defined_ratio(numerator: int, denominator: int, other_side_empty: bool) -> float:
    if denominator:
        return numerator / denominator
    return 1.0 if other_side_empty else 0.0


def dice(tp: int, fp: int, fn: int) -> float:
    """Defect Dice of pixel counts: 2tp / (2tp + fp + fn), 1.0 when truth and prediction are both empty."""
    return defined_ratio(2 * tp, 2 * tp + fp + fn, other_side_empty=True)


def image_auroc(scores: ArrayLike, defective: ArrayLike) -> float | None:
    """Area under the ROC curve: the chance that a defective image scores above a good one,
    ties counting half (the Mann-Whitney U statistic over both counts)."""
    values, truth = np.asarray(scores, np.float64), np.asarray(defective, bool)
    positives, negatives = values[truth], values[~truth]
    if not len(positives) or not len(negatives):
        return None
    ordered = np.sort(negatives)
    below = np.searchsorted(ordered, positives, side="left")
    tied = np.searchsorted(ordered, positives, side="right") - below
    return float((below.sum() + 0.5 * tied.sum()) / (len(positives) * len(negatives)))


@attrs.frozen
class PartScores:
    """The part-level decision "is this part defective?" and the pooled defect Dice it leaves:
    what evaluation, calibration and the classifier gate all score (by part_scores)."""

    image_precision: float
    image_recall: float
    image_F1: float
    false_alarm_rate: float | None  # good parts flagged / good parts; None without a good part
    defect_Dice: float
    image_AUROC: float | None = None  # of the score the parts are ranked by, where given and defined

    def as_dict(self) -> dict:
        return attrs.asdict(self)


def part_scores(defective: ArrayLike, flagged: ArrayLike, tp: int, fp: int, fn: int,
                scores: ArrayLike | None = None) -> PartScores:
    """Image precision, recall, F1 and false-alarm rate of the part verdicts `flagged` against the
    truth `defective` (one bool per part each), the pooled defect Dice of the pixel counts tp, fp,
    fn (counted after the verdicts emptied masks), and the image AUROC of `scores` (None when not
    given or when only one kind of part occurs). A ratio whose denominator is zero is 1 when the
    other side is empty too, else 0; the false-alarm rate is None without a good part."""
    truth, flags = np.asarray(defective, bool), np.asarray(flagged, bool)
    if truth.shape != flags.shape:
        raise ValueError(f"{truth.size} parts in the truth, {flags.size} verdicts")
    itp, ifp = int((truth & flags).sum()), int((~truth & flags).sum())
    ifn, good = int((truth & ~flags).sum()), int((~truth).sum())
    return PartScores(
        image_precision=defined_ratio(itp, itp + ifp, other_side_empty=itp + ifn == 0),
        image_recall=defined_ratio(itp, itp + ifn, other_side_empty=itp + ifp == 0),
        image_F1=defined_ratio(2 * itp, 2 * itp + ifp + ifn, other_side_empty=True),
        false_alarm_rate=ifp / good if good else None,
        defect_Dice=dice(tp, fp, fn),
        image_AUROC=None if scores is None else image_auroc(scores, truth),
    )


@attrs.frozen
class Scores:
    mIOU: float
    DSC: float
    MPCA: float
    Acc: float
    defect_IoU: float
    defect_Dice: float
    per_image_Dice: float
    image_precision: float = 0.0
    image_recall: float = 0.0
    image_F1: float = 0.0
    image_AUROC: float | None = None

    @classmethod
    def compute(cls, total: ConfusionMatrix, images: Sequence[ConfusionMatrix],
                peaks: Sequence[float] | None = None, flagged: Sequence[bool] | None = None) -> Scores:
        """`peaks`: each image's part score (domain.part_score), for image_AUROC; `flagged`: each
        image's part verdict (default: its mask is not empty)."""
        verdicts = [cm.tp + cm.fp > 0 for cm in images] if flagged is None else flagged
        part = part_scores([cm.tp + cm.fn > 0 for cm in images], verdicts, total.tp, total.fp, total.fn, peaks)
        return cls(
            mIOU=mean_iou(total),
            DSC=mean_dice(total),
            MPCA=mean_per_class_accuracy(total),
            Acc=pixel_accuracy(total),
            defect_IoU=defect_iou(total),
            defect_Dice=part.defect_Dice,
            per_image_Dice=per_image_dice(images),
            image_precision=part.image_precision,
            image_recall=part.image_recall,
            image_F1=part.image_F1,
            image_AUROC=part.image_AUROC,
        )

    def as_dict(self) -> dict[str, float]:
        return attrs.asdict(self)


# A model whose predicted defect area is below this share of the true one has collapsed to
# predicting background: the classic failure of pixel cross-entropy on rare, small defects.
COLLAPSE_SHARE = 0.05


@attrs.frozen
class DefectBalance:
    """How much of the evaluated area is defect, in the truth and in the prediction."""

    true_fraction: float
    predicted_fraction: float

    @classmethod
    def of(cls, cm: ConfusionMatrix) -> DefectBalance:
        total = cm.total or 1
        return cls(true_fraction=(cm.tp + cm.fn) / total, predicted_fraction=(cm.tp + cm.fp) / total)

    @property
    def has_defects(self) -> bool:
        """The truth holds defect pixels (a class absent from the images has no Dice to speak of)."""
        return self.true_fraction > 0

    @property
    def collapsed(self) -> bool:
        return self.has_defects and self.predicted_fraction < COLLAPSE_SHARE * self.true_fraction
