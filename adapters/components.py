"""Connected defect components, labelled by scipy.ndimage (8-connectivity)."""

from __future__ import annotations

import numpy as np

from unet_defects.domain.calibration import ComponentTable
from unet_defects.domain.defects import (
    DefectCounts,
    DefectRecord,
    large_components,
    match_from_labels,
    records_from_labels,
)

EIGHT_NEIGHBOURS = np.ones((3, 3), bool)


def label_components(decision: np.ndarray) -> tuple[np.ndarray, int]:
    """The 8-connected components of a boolean mask as a label image (1..count) and their count:
    what every component in the project is (records, min_area, calibration, exports)."""
    from scipy import ndimage

    return ndimage.label(np.asarray(decision, bool), structure=EIGHT_NEIGHBOURS)


class ScipyComponents:
    def remove_small(self, decision: np.ndarray, min_area: int) -> np.ndarray:
        """The decision without the components of fewer than `min_area` pixels."""
        decision = np.asarray(decision, bool)
        if min_area <= 1 or not decision.any():
            return decision
        return large_components(*label_components(decision), min_area)

    def table(self, decision: np.ndarray, truth: np.ndarray) -> ComponentTable:
        """Each component's area and how many of its pixels are true defect."""
        return ComponentTable.of_labels(*label_components(decision), truth)

    def records(self, probabilities: np.ndarray, decision: np.ndarray) -> list[DefectRecord]:
        """A record per component of the decision, largest first, with the probabilities in it."""
        labels, count = label_components(decision)
        return records_from_labels(labels, count, probabilities)

    def match(self, truth: np.ndarray, decision: np.ndarray, counted: np.ndarray | None = None) -> DefectCounts:
        """Defect-level counts: true components touched by the decision's components, and back."""
        return match_from_labels(*label_components(truth), *label_components(decision), counted=counted)
