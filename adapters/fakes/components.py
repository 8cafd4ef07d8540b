"""Fake of the Components port: connected defect components (8-connectivity) labelled by a
small flood fill in numpy, free of scipy. Fine for the small masks of tests; the real adapter
(adapters/components.py, scipy.ndimage) is the one for real images.

It numbers the components in raster order of their first pixel, as scipy.ndimage.label does,
and leaves the rest to the domain's functions the real adapter uses too (records_from_labels,
match_from_labels), so both give the same answers (tests/unit/test_fake_components.py).
"""

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


def flood_labels(mask: np.ndarray) -> tuple[np.ndarray, int]:
    """(labels, count) of a 2-D mask's 8-connected components: 0 the background, 1..count the
    components, numbered in raster order of their first pixel."""
    mask = np.asarray(mask, bool)
    if mask.ndim != 2:
        raise ValueError(f"components are labelled on a 2-D mask, got shape {mask.shape}")
    height, width = mask.shape
    labels = np.zeros(mask.shape, np.int32)
    count = 0
    for y, x in zip(*np.nonzero(mask)):  # C order: raster order
        if labels[y, x]:
            continue
        count += 1
        labels[y, x] = count
        pending = [(int(y), int(x))]
        while pending:
            row, column = pending.pop()
            for near_row in range(max(row - 1, 0), min(row + 2, height)):
                for near_column in range(max(column - 1, 0), min(column + 2, width)):
                    if mask[near_row, near_column] and not labels[near_row, near_column]:
                        labels[near_row, near_column] = count
                        pending.append((near_row, near_column))
    return labels, count


class FakeComponents:
    """The Components port by flood fill; `calls` records which method ran, in order."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def remove_small(self, decision: np.ndarray, min_area: int) -> np.ndarray:
        self.calls.append("remove_small")
        decision = np.asarray(decision, bool)
        if min_area <= 1 or not decision.any():
            return decision
        return large_components(*flood_labels(decision), min_area)

    def table(self, decision: np.ndarray, truth: np.ndarray) -> ComponentTable:
        self.calls.append("table")
        return ComponentTable.of_labels(*flood_labels(decision), truth)

    def records(self, probabilities: np.ndarray, decision: np.ndarray) -> list[DefectRecord]:
        self.calls.append("records")
        labels, count = flood_labels(decision)
        return records_from_labels(labels, count, probabilities)

    def match(self, truth: np.ndarray, decision: np.ndarray, counted: np.ndarray | None = None) -> DefectCounts:
        self.calls.append("match")
        return match_from_labels(*flood_labels(truth), *flood_labels(decision), counted=counted)
