"""Precision-recall curves and what they are read for: the average precision, and precision,
recall and F1 against the threshold.

Pixels: an evaluation keeps, per class, a histogram of the counted pixels' defect probability
(HISTOGRAM_BINS equal bins over [0, 1]), one row for background pixels and one for defect pixels,
so that every threshold at a bin edge is scored after one pass over the images, whatever their
number. Parts: the part scores themselves, every distinct score a threshold.

A threshold t flags what scores at t or above. The average precision is the sum over the
thresholds, from the highest down, of the recall gained times the precision there (no
interpolation), so a model that ranks every defect first scores 1.
"""

from __future__ import annotations

from collections.abc import Sequence

import attrs
import numpy as np
from numpy.typing import ArrayLike

HISTOGRAM_BINS = 100
BACKGROUND, DEFECT = 0, 1  # the histogram's rows


def probability_bins(probabilities: ArrayLike, bins: int = HISTOGRAM_BINS) -> np.ndarray:
    """Each probability's bin: floor(p * bins), 1.0 in the last."""
    scaled = np.floor(np.asarray(probabilities, np.float32) * bins).astype(np.int64)
    return np.clip(scaled, 0, bins - 1)


def pixel_histogram(probabilities: np.ndarray, truth: np.ndarray, counted: np.ndarray,
                    bins: int = HISTOGRAM_BINS) -> np.ndarray:
    """(2, bins) int64: the counted pixels by probability bin, background then defect."""
    kept = np.asarray(counted, bool)
    index = probability_bins(probabilities[kept], bins) + bins * np.asarray(truth, bool)[kept].astype(np.int64)
    return np.bincount(index, minlength=2 * bins).reshape(2, bins)


@attrs.frozen(eq=False)
class Curve:
    """Precision and recall at each threshold, thresholds descending (recall rising)."""

    thresholds: np.ndarray
    precision: np.ndarray
    recall: np.ndarray
    positives: int  # the defect pixels or defective parts in the truth
    flagged: np.ndarray  # what each threshold flags (precision is 1 by convention where it flags nothing)

    @property
    def f1(self) -> np.ndarray:
        total = self.precision + self.recall
        return np.divide(2 * self.precision * self.recall, total, out=np.zeros_like(total), where=total > 0)

    @property
    def average_precision(self) -> float | None:
        if not self.positives or not len(self.recall):
            return None
        gained = np.diff(np.concatenate([[0.0], self.recall]))
        return float(np.sum(gained * self.precision))

    def at(self, threshold: float) -> tuple[float, float, float]:
        """(precision, recall, F1) of a rule that flags what scores at `threshold` or above: the
        curve's point at its lowest threshold still at or above it (nothing flagged above them all)."""
        above = np.nonzero(self.thresholds >= threshold - 1e-12)[0]
        if not len(above):
            return 1.0, 0.0, 0.0
        position = int(above[-1])
        return float(self.precision[position]), float(self.recall[position]), float(self.f1[position])


def _curve(thresholds: np.ndarray, positives_above: np.ndarray, negatives_above: np.ndarray, positives: int) -> Curve:
    flagged = positives_above + negatives_above
    precision = np.divide(positives_above, flagged, out=np.ones(len(flagged)), where=flagged > 0)
    recall = positives_above / positives if positives else np.zeros(len(flagged))
    return Curve(thresholds=thresholds, precision=precision, recall=recall, positives=int(positives), flagged=flagged)


def pixel_curve(histogram: np.ndarray) -> Curve:
    """The curve of a (2, bins) histogram, at the bin edges from (bins - 1) / bins down to 0."""
    histogram = np.asarray(histogram, np.int64)
    bins = histogram.shape[1]
    # at edge i / bins every bin from i up is flagged: cumulative sums from the top bin down
    above = np.cumsum(histogram[:, ::-1], axis=1)
    thresholds = np.arange(bins - 1, -1, -1) / bins
    return _curve(thresholds, above[DEFECT].astype(np.float64), above[BACKGROUND].astype(np.float64),
                  int(histogram[DEFECT].sum()))


def part_curve(scores: Sequence[float | None], defective: Sequence[bool]) -> Curve | None:
    """The curve of the parts ranked by their score (None: not every part has one)."""
    if not scores or any(score is None for score in scores):
        return None
    values, truth = np.asarray(scores, np.float64), np.asarray(defective, bool)
    order = np.argsort(-values, kind="stable")
    values, truth = values[order], truth[order]
    # tied scores are flagged together: each distinct score's last position
    last = np.nonzero(np.diff(np.concatenate([values, [-np.inf]])) != 0)[0]
    found = np.cumsum(truth)[last].astype(np.float64)
    return _curve(values[last], found, (last + 1) - found, int(truth.sum()))
