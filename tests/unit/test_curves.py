"""Precision-recall curves of pixel histograms and of part scores, against the same figures
counted directly."""

import numpy as np
import pytest

from unet_defects.domain.curves import HISTOGRAM_BINS, part_curve, pixel_curve, pixel_histogram


def counted_directly(scores, truth, threshold):
    flagged = scores >= threshold
    tp = np.count_nonzero(flagged & truth)
    precision = tp / np.count_nonzero(flagged) if flagged.any() else 1.0
    return precision, tp / np.count_nonzero(truth)


def test_the_pixel_curve_at_each_bin_edge_is_the_rule_at_that_threshold():
    rng = np.random.default_rng(3)
    probabilities = rng.random((40, 50)).astype(np.float32)
    truth = rng.random((40, 50)) < probabilities ** 3  # higher probabilities are more often defects
    counted = rng.random((40, 50)) > 0.1
    curve = pixel_curve(pixel_histogram(probabilities, truth, counted))
    assert curve.positives == np.count_nonzero(truth & counted)
    for position in (0, 17, 50, HISTOGRAM_BINS - 1):
        edge = HISTOGRAM_BINS - 1 - position  # the threshold edge / bins
        assert curve.thresholds[position] == pytest.approx(edge / HISTOGRAM_BINS)
        binned = np.floor(probabilities[counted] * HISTOGRAM_BINS)  # each pixel's bin
        precision, recall = counted_directly(binned, truth[counted], edge)
        assert curve.precision[position] == pytest.approx(precision)
        assert curve.recall[position] == pytest.approx(recall)
    assert curve.recall[-1] == 1.0 and curve.thresholds[-1] == 0.0


def test_the_part_curve_flags_tied_scores_together_and_its_average_precision_sums_the_steps():
    curve = part_curve([0.9, 0.8, 0.8, 0.1], [True, False, True, False])
    assert list(curve.thresholds) == [0.9, 0.8, 0.1]
    assert list(curve.precision) == pytest.approx([1.0, 2 / 3, 0.5])
    assert list(curve.recall) == [0.5, 1.0, 1.0]
    assert curve.average_precision == pytest.approx(0.5 * 1.0 + 0.5 * 2 / 3)
    assert curve.at(0.85) == pytest.approx((1.0, 0.5, 2 / 3))  # flags the 0.9 alone
    assert curve.at(0.8) == pytest.approx((2 / 3, 1.0, 0.8))
    assert curve.at(0.95) == (1.0, 0.0, 0.0)  # flags nothing


def test_a_ranking_that_puts_every_defect_first_has_average_precision_one():
    assert part_curve([0.7, 0.6, 0.2, 0.1], [True, True, False, False]).average_precision == 1.0
    reversed_ranking = part_curve([0.1, 0.2, 0.6, 0.7], [True, True, False, False])
    assert reversed_ranking.average_precision == pytest.approx(0.5 * 1 / 3 + 0.5 * 2 / 4)


def test_no_curve_without_every_score_and_no_average_precision_without_a_defect():
    assert part_curve([0.5, None], [True, False]) is None
    assert part_curve([0.5, 0.2], [False, False]).average_precision is None
    assert pixel_curve(np.zeros((2, HISTOGRAM_BINS), np.int64)).average_precision is None
