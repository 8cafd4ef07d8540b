"""One evaluation image scored in numpy (exports, TTA, min_area, ignored labels, per-class
calibrations): each channel thresholded by its decision, small components removed, counted."""

from __future__ import annotations

from collections.abc import Sequence

import attrs
import numpy as np

from application.inference import Decision
from application.ports import Components
from application.values import EvaluatedMap, ImageEvaluation, SamplePicture
from domain.masks import DecisionRule
from domain.metrics import ConfusionMatrix


def scored_map(index: int, found: EvaluatedMap, rules: Sequence[DecisionRule], decisions: Sequence[Decision],
               components: Components | None) -> ImageEvaluation:
    """The first rule is each channel's own decision; the other rules' thresholds keep each
    channel's min_area. One decision: (H, W) maps; several: (H, W, K), a decision per channel."""
    several = len(decisions) > 1

    def channel(array: np.ndarray, k: int) -> np.ndarray:
        return array[..., k] if several else array

    rows, first = [], []
    for position, rule in enumerate(rules):
        row = []
        for k, decision in enumerate(decisions):
            cutoff = decision.threshold if position == 0 else rule.probability_cutoff
            decided = Decision(cutoff, decision.min_area, decision.area_at).apply(channel(found.probabilities, k),
                                                                                   components)
            counted = channel(found.counted, k)
            row.append(attrs.astuple(ConfusionMatrix.from_masks(channel(found.truth, k), decided, counted)))
            if position == 0:
                first.append(decided & counted)
        rows.append(row)
    peaks = [float(channel(found.probabilities, k)[channel(found.counted, k)].max())
             if channel(found.counted, k).any() else 0.0 for k in range(len(decisions))]

    def picture() -> SamplePicture:  # every class together
        truth = found.truth & found.counted
        return SamplePicture(index=index, image=found.image, truth=truth.any(axis=-1) if several else truth,
                             prediction=np.logical_or.reduce(first))

    return ImageEvaluation.from_class_counts(rows, peaks, picture)
