"""Threshold and min-area search, image-level scores and AUROC on literal arrays (hand-computed)."""

import numpy as np
import pytest

from unet_defects.adapters.components import ScipyComponents
from unet_defects.domain.calibration import Calibration, ComponentTable, score_candidate, search
from unet_defects.domain.decision import Decision
from unet_defects.domain.errors import ConfigError
from unet_defects.domain.metrics import ConfusionMatrix, Scores, image_auroc


def test_component_table_counts_after_removing_small_components():
    # Two components: 5 pixels with 4 true, 1 pixel with 0 true; 6 true pixels in all.
    table = ComponentTable(areas=[5, 1], hits=[4, 0], truth_pixels=6)
    assert table.counts(0) == (4, 2, 2, True)
    assert table.counts(2) == (4, 1, 2, True)
    assert table.counts(6) == (0, 0, 6, False)


def test_score_candidate_pools_pixels_and_decides_per_image():
    tables = [
        ComponentTable(areas=[5, 1], hits=[4, 0], truth_pixels=6),  # defective, found
        ComponentTable(areas=[2], hits=[0], truth_pixels=0),  # good, a 2-pixel false alarm
        ComponentTable(areas=[], hits=[], truth_pixels=3),  # defective, missed
    ]
    plain = score_candidate(tables, 0.5, 0)
    # tp 4, fp 1 + 1 + 2 = 4... components: fp = (5-4) + 1 + 2 = 4; fn = 2 + 0 + 3 = 5
    assert plain.defect_Dice == pytest.approx(8 / (8 + 4 + 5))
    # images: tp 1, fp 1, fn 1
    assert (plain.image_precision, plain.image_recall, plain.image_F1) == (0.5, 0.5, 0.5)
    cleaned = score_candidate(tables, 0.5, 3)
    # the 1- and 2-pixel components go: fp 1, fn 5; the good image is no longer flagged
    assert cleaned.defect_Dice == pytest.approx(8 / (8 + 1 + 5))
    assert (cleaned.image_precision, cleaned.image_recall) == (1.0, 0.5)


def test_search_picks_the_best_pair_and_ties_go_to_the_baseline():
    noisy = {0.5: [ComponentTable(areas=[9, 1, 1], hits=[9, 0, 0], truth_pixels=9)],
             0.3: [ComponentTable(areas=[12, 1], hits=[9, 0], truth_pixels=9)]}
    found = search(noisy, min_areas=[0, 2, 4])
    assert (found.best.threshold, found.best.min_area) == (0.5, 2)
    assert found.best.defect_Dice == 1.0
    assert found.baseline.defect_Dice == pytest.approx(18 / 20)
    clean = {0.5: [ComponentTable(areas=[9], hits=[9], truth_pixels=9)],
             0.4: [ComponentTable(areas=[9], hits=[9], truth_pixels=9)]}
    best = search(clean, min_areas=[0, 2]).best
    assert (best.threshold, best.min_area) == (0.5, 0)


def test_search_never_scores_below_the_baseline():
    rng = np.random.default_rng(3)
    tables = {t: [ComponentTable(areas=rng.integers(1, 50, 4), hits=rng.integers(0, 2, 4), truth_pixels=int(rng.integers(0, 40)))]
              for t in (0.3, 0.5, 0.7)}
    found = search(tables)
    assert found.best.defect_Dice >= found.baseline.defect_Dice


def test_search_needs_the_baseline_threshold():
    with pytest.raises(ValueError, match="0.5"):
        search({0.4: []})


def test_calibration_scales_min_area_to_the_image_and_rejects_bad_values():
    calibration = Calibration(Decision(0.4, 10, (100, 100)))
    assert calibration.decision.min_area_for(200, 200) == 40
    assert Calibration(Decision(0.4, 10)).decision.min_area_for(200, 200) == 10
    with pytest.raises(ConfigError, match="threshold"):
        Calibration(Decision(1.5, 0))
    with pytest.raises(ConfigError, match="min_area"):
        Calibration(Decision(0.5, -1))


def test_scipy_components_remove_small_and_tabulate_with_eight_neighbours():
    decision = np.array([[1, 1, 0, 0, 0],
                         [1, 0, 0, 0, 1],
                         [0, 0, 0, 0, 0],
                         [0, 0, 1, 0, 0],
                         [0, 0, 0, 1, 0]], bool)  # components: 3 px, 1 px, 2 px (diagonal)
    truth = np.zeros_like(decision)
    truth[0, 0] = truth[4, 3] = truth[2, 2] = True
    components = ScipyComponents()
    kept = components.remove_small(decision, 2)
    assert kept.sum() == 5 and not kept[1, 4]
    table = components.table(decision, truth)
    assert sorted(zip(table.areas.tolist(), table.hits.tolist())) == [(1, 0), (2, 1), (3, 1)]
    assert table.truth_pixels == 3
    assert components.remove_small(decision, 0).sum() == 6


def test_image_auroc_counts_ties_half_and_needs_both_kinds():
    # defective scores 0.9, 0.4; good 0.4, 0.1: pairs (0.9>0.4, 0.9>0.1, 0.4=0.4, 0.4>0.1) = 3.5 / 4
    assert image_auroc([0.9, 0.4, 0.4, 0.1], [True, True, False, False]) == pytest.approx(0.875)
    assert image_auroc([0.1, 0.9], [True, False]) == 0.0
    assert image_auroc([0.3, 0.2], [True, True]) is None


def test_scores_carry_image_auroc_only_when_peaks_are_given():
    images = [ConfusionMatrix(tn=9, tp=1), ConfusionMatrix(tn=10)]
    total = sum(images, ConfusionMatrix())
    assert Scores.compute(total, images).image_AUROC is None
    assert Scores.compute(total, images, peaks=[0.8, 0.3]).image_AUROC == 1.0


def test_the_image_f1_objective_keeps_a_small_defect_that_dice_would_drop():
    # Every image is defective. Image 1: a true component (40 px, 30 true) and 3 px of noise.
    # Image 2: a 6-px component holding its 2 true pixels. Dice gains most from min_area 7,
    # which empties image 2; min_area 4 removes only the noise and keeps both images.
    tables = {0.5: [ComponentTable(areas=[40, 3], hits=[30, 0], truth_pixels=40),
                    ComponentTable(areas=[6], hits=[2], truth_pixels=2)]}
    by_dice = search(tables, min_areas=[0, 4, 7])
    assert by_dice.best.min_area == 7 and by_dice.best.defect_Dice == pytest.approx(60 / 82)
    assert by_dice.best.image_recall == 0.5
    by_f1 = search(tables, min_areas=[0, 4, 7], objective="image_F1")
    assert by_f1.best.min_area == 4 and by_f1.best.image_F1 == 1.0
    assert by_f1.best.defect_Dice == pytest.approx(64 / 88)
    with pytest.raises(ConfigError, match="--objective"):
        search(tables, objective="accuracy")
