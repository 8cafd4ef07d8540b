"""One evaluation image scored in numpy (exports, TTA, min_area, ignored labels, per-class
calibrations): each channel thresholded by its decision, small components removed, counted."""

from __future__ import annotations

from collections.abc import Sequence

import attrs
import numpy as np

from unet_defects.application.ports import Components
from unet_defects.application.values import EvaluatedMap, ImageEvaluation, SamplePicture
from unet_defects.domain.curves import pixel_histogram
from unet_defects.domain.decision import Decision
from unet_defects.domain.masks import DecisionRule
from unet_defects.domain.metrics import ConfusionMatrix
from unet_defects.domain.part_score import class_scores


def scored_map(index: int, found: EvaluatedMap, rules: Sequence[DecisionRule], decisions: Sequence[Decision],
               components: Components | None) -> ImageEvaluation:
    """(H, W, K) maps, a decision per channel. The first rule is each channel's own decision; the
    other rules' thresholds keep each channel's min_area (and gate). With the classifier head's
    probabilities, each channel's segmentation-rule mask is also kept as a GateRow, and an applied
    gate decides the part (its verdict may flag a part whose mask is empty) and empties the masks
    of the parts it calls good."""
    image_probabilities = found.image_probabilities
    head = None if image_probabilities is None else [float(p) for p in image_probabilities]
    rows, first, gate_rows, flags = [], [], [], []
    for position, rule in enumerate(rules):
        row, flagged = [], []
        for k, decision in enumerate(decisions):
            cutoff = decision.threshold if position == 0 else rule.probability_cutoff
            counted = found.counted[..., k]
            probability = None if head is None else head[k]
            applied = attrs.evolve(decision, threshold=cutoff)
            decided = applied.segmented(found.probabilities[..., k], components) & counted
            largest = None  # the first rule's mask is labelled once, for its gate row and its verdict
            if position == 0 and probability is not None:
                if components is None:
                    raise ValueError("the classifier head's gate rows need the components adapter")
                # The mask is segmented already: every component counts (min_area 0).
                table = components.table(decided, found.truth[..., k] & counted)
                gate_rows.append(table.gate_row(0, probability))
                largest = gate_rows[-1].largest_area
            flagged.append(applied.flags(decided, probability, components, largest))
            if not flagged[-1]:
                decided = np.zeros_like(decided)
            row.append(attrs.astuple(ConfusionMatrix.from_masks(found.truth[..., k], decided, counted)))
            if position == 0:
                first.append(decided)
        rows.append(row)
        flags.append(tuple(flagged))
    peaks = [float(found.probabilities[..., k][found.counted[..., k]].max())
             if found.counted[..., k].any() else 0.0 for k in range(len(decisions))]
    scores = class_scores(peaks, head)

    def picture() -> SamplePicture:  # every class together
        truth = found.truth & found.counted
        return SamplePicture(index=index, image=found.image, truth=truth.any(axis=-1),
                             prediction=np.logical_or.reduce(first))

    histograms = np.stack([pixel_histogram(found.probabilities[..., k], found.truth[..., k], found.counted[..., k])
                           for k in range(len(decisions))])
    return attrs.evolve(ImageEvaluation.from_class_counts(rows, peaks, picture, histograms), gate_rows=tuple(gate_rows),
                        class_flagged=tuple(zip(*flags)), class_scores=tuple(scores))
