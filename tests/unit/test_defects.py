"""Defect records and defect-level counts on literal label images (hand-computed)."""

import json

import numpy as np
import pytest

from unet_defects.domain.defects import (
    SIZE_BOUNDS_TEXT,
    DefectCounts,
    DefectRecord,
    match_from_labels,
    records_from_labels,
    size_bins,
)


def test_records_of_two_components_largest_first():
    labels = np.array([[0, 0, 0, 1, 0],
                       [2, 2, 0, 0, 0],
                       [2, 2, 0, 0, 0],
                       [0, 2, 0, 0, 0]])
    probabilities = np.full(labels.shape, 0.1, np.float32)
    probabilities[labels == 2] = [0.6, 0.7, 0.8, 0.9, 1.0]
    probabilities[0, 3] = 0.55
    big, small = records_from_labels(labels, 2, probabilities)
    # label 2: pixels (1,0) (1,1) (2,0) (2,1) (3,1)
    assert big.bbox == (1, 0, 4, 2) and big.area == 5
    assert big.centroid == pytest.approx((9 / 5, 3 / 5))
    assert big.max_probability == pytest.approx(1.0) and big.mean_probability == pytest.approx(0.8)
    assert small.bbox == (0, 3, 1, 4) and small.area == 1 and small.centroid == (0.0, 3.0)
    assert small.max_probability == small.mean_probability == pytest.approx(0.55)


def test_records_tie_on_area_go_to_the_upper_left_and_serialize_to_json():
    labels = np.array([[0, 0, 2],
                       [1, 0, 0]])
    first, second = records_from_labels(labels, 2, np.zeros(labels.shape))
    assert (first.bbox, second.bbox) == ((0, 2, 1, 3), (1, 0, 2, 1))
    row = first.as_dict()
    assert row == {"bbox": [0, 2, 1, 3], "area": 1, "centroid": [0.0, 2.0],
                   "max_probability": 0.0, "mean_probability": 0.0}
    assert type(row["area"]) is int and all(type(v) is int for v in row["bbox"])
    json.dumps(row)


def test_records_skip_absent_labels_and_reject_bad_input():
    labels = np.array([[0, 3, 3]])  # labels 1 and 2 were removed
    (only,) = records_from_labels(labels, 3, np.ones((1, 3)))
    assert only.bbox == (0, 1, 1, 3) and only.area == 2
    assert records_from_labels(np.zeros((4, 4), int), 0, np.zeros((4, 4))) == []
    with pytest.raises(ValueError):
        records_from_labels(labels, 3, np.ones((3, 1)))
    with pytest.raises(ValueError):
        records_from_labels(labels, 2, np.ones((1, 3)))
    assert isinstance(only, DefectRecord)


def test_match_two_true_components_one_found_and_a_false_alarm():
    truth = np.array([[1, 1, 0, 0, 2, 2]])
    predicted = np.array([[0, 1, 0, 2, 0, 0]])
    counts = match_from_labels(truth, 2, predicted, 2)
    assert (counts.true_total, counts.true_found, counts.predicted_total, counts.predicted_matched) == (2, 1, 2, 1)
    scores = counts.scores()
    assert scores["defect_recall"] == 0.5 and scores["defect_precision"] == 0.5


def test_a_prediction_that_merges_two_true_components_finds_both():
    truth = np.array([[1, 0, 2, 0, 0]])
    predicted = np.array([[1, 1, 1, 0, 2]])
    counts = match_from_labels(truth, 2, predicted, 2)
    assert (counts.true_total, counts.true_found, counts.predicted_total, counts.predicted_matched) == (2, 2, 2, 1)
    assert counts.scores()["defect_recall"] == 1.0 and counts.scores()["defect_precision"] == 0.5


def test_empty_truth_has_no_recall_and_zero_precision_when_something_is_predicted():
    scores = match_from_labels(np.zeros((1, 3), int), 0, np.array([[1, 0, 0]]), 1).scores()
    assert scores == {"defect_recall": None, "defect_precision": 0.0, "defect_recall_small": None,
                      "defect_recall_medium": None, "defect_recall_large": None}
    assert match_from_labels(np.zeros((2, 2), int), 0, np.zeros((2, 2), int), 0).scores()["defect_precision"] is None


def test_size_bins_follow_the_coco_ranges():
    assert size_bins([1, 1023, 1024, 9215, 9216, 10**6]).tolist() == [0, 0, 1, 1, 2, 2]
    assert SIZE_BOUNDS_TEXT == "small < 1024 px (32x32), medium < 9216 px (96x96), large >= 9216 px"
    truth = np.zeros((100, 200), int)
    truth[0, 0] = 1  # 1 px: small
    truth[2:98, 100:196] = 2  # 96x96 = 9216 px: large
    predicted = np.zeros_like(truth)
    predicted[50, 150] = 1
    counts = match_from_labels(truth, 2, predicted, 1)
    assert counts.true_by_size == (1, 0, 1) and counts.found_by_size == (0, 0, 1)
    scores = counts.scores()
    assert (scores["defect_recall_small"], scores["defect_recall_medium"], scores["defect_recall_large"]) == (0.0, None, 1.0)


def test_counts_add_up():
    one = DefectCounts(2, 1, 2, 1, (1, 0, 1), (0, 0, 1))
    two = DefectCounts(1, 1, 3, 1, (0, 1, 0), (0, 1, 0))
    assert one + two == DefectCounts(3, 2, 5, 2, (1, 1, 1), (0, 1, 1))
    assert sum([one, two], DefectCounts()) == one + two
    assert DefectCounts() + one == one
    assert DefectCounts().scores()["defect_recall"] is None


def test_counted_mask_leaves_out_an_overlap():
    truth = np.array([[1, 1, 0]])
    predicted = np.array([[0, 1, 1]])
    counted = np.array([[True, False, True]])
    counts = match_from_labels(truth, 1, predicted, 1, counted=counted)
    assert counts == DefectCounts(true_total=1, true_found=0, predicted_total=1, predicted_matched=0,
                                  true_by_size=(1, 0, 0), found_by_size=(0, 0, 0))
    assert match_from_labels(truth, 1, predicted, 1).true_found == 1
