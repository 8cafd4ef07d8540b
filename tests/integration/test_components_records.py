"""ScipyComponents' defect records and defect matching: 8-connectivity and a large image."""

import time

import numpy as np
import pytest

from unet_defects.adapters.components import ScipyComponents


def test_diagonal_pixels_join_one_record():
    decision = np.array([[1, 0, 0, 0],
                         [0, 1, 0, 1],
                         [0, 0, 0, 1]], bool)
    probabilities = np.where(decision, 0.75, 0.0)
    probabilities[0, 0] = 0.95
    first, second = ScipyComponents().records(probabilities, decision)
    assert first.bbox == (0, 0, 2, 2) and first.area == 2 and first.centroid == (0.5, 0.5)
    assert first.max_probability == pytest.approx(0.95) and first.mean_probability == pytest.approx(0.85)
    assert second.bbox == (1, 3, 3, 4) and second.area == 2


def test_match_on_boolean_masks():
    truth = np.array([[1, 0, 0, 0, 1],
                      [0, 1, 0, 0, 1]], bool)  # a diagonal pair and a vertical pair
    decision = np.array([[0, 0, 0, 0, 0],
                         [0, 1, 0, 0, 0]], bool)
    counts = ScipyComponents().match(truth, decision)
    assert (counts.true_total, counts.true_found, counts.predicted_total, counts.predicted_matched) == (2, 1, 1, 1)
    assert counts.true_by_size == (2, 0, 0)
    masked = ScipyComponents().match(truth, decision, counted=~decision)
    assert (masked.true_found, masked.predicted_matched) == (0, 0)


def test_records_on_a_large_decision_find_each_bbox():
    decision = np.zeros((3000, 3000), bool)
    boxes = [(0, 0, 10, 20), (1500, 1400, 1700, 1450), (2990, 2900, 3000, 3000), (400, 2500, 401, 2501)]
    for y0, x0, y1, x1 in boxes:
        decision[y0:y1, x0:x1] = True
    probabilities = decision * np.float32(0.9)
    started = time.perf_counter()
    records = ScipyComponents().records(probabilities, decision)
    elapsed = time.perf_counter() - started
    assert [r.bbox for r in records] == [boxes[1], boxes[2], boxes[0], boxes[3]]
    assert [r.area for r in records] == [200 * 50, 10 * 100, 10 * 20, 1]
    assert records[0].centroid == pytest.approx((1599.5, 1424.5))
    assert all(r.max_probability == pytest.approx(0.9) for r in records)
    assert elapsed < 5.0
