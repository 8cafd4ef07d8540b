import numpy as np
import pytest

from unet_defects.domain.masks import DecisionRule, binarize_truth, to_uint8_mask
from unet_defects.domain.metrics import (
    ConfusionMatrix,
    Scores,
    defect_dice,
    defect_iou,
    mean_dice,
    mean_iou,
    mean_per_class_accuracy,
    per_image_dice,
    pixel_accuracy,
)

TRUTH = np.array([[1, 1, 0, 0], [1, 1, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0]], bool)
PRED = np.array([[1, 0, 0, 0], [1, 1, 1, 0], [0, 0, 0, 0], [0, 0, 0, 1]], bool)


def test_confusion_matrix_counts_literal_masks():
    cm = ConfusionMatrix.from_masks(TRUTH, PRED)
    assert (cm.tn, cm.fp, cm.fn, cm.tp) == (10, 2, 1, 3)


def test_scores_against_hand_computed_values():
    cm = ConfusionMatrix(tn=10, fp=2, fn=1, tp=3)
    # background: tp=10, fp=1 (missed defects), fn=2 (false alarms)
    assert mean_iou(cm) == pytest.approx((10 / 13 + 3 / 6) / 2)
    assert mean_dice(cm) == pytest.approx((20 / 23 + 6 / 9) / 2)
    assert mean_per_class_accuracy(cm) == pytest.approx((10 / 12 + 3 / 4) / 2)
    assert pixel_accuracy(cm) == pytest.approx(13 / 16)
    assert defect_iou(cm) == pytest.approx(3 / 6)
    assert defect_dice(cm) == pytest.approx(6 / 9)


def test_empty_truth_and_empty_prediction():
    empty = np.zeros((4, 4), bool)
    cm = ConfusionMatrix.from_masks(empty, empty)
    # Only the background class is defined: it is perfect.
    assert mean_iou(cm) == 1.0 and mean_dice(cm) == 1.0 and mean_per_class_accuracy(cm) == 1.0
    assert defect_dice(cm) == 1.0  # Kaggle convention
    missed = ConfusionMatrix.from_masks(empty, TRUTH)
    assert defect_dice(missed) == 0.0
    assert mean_iou(missed) == pytest.approx((12 / 16 + 0.0) / 2)


def test_per_image_dice_averages_images_with_empty_empty_as_one():
    images = [ConfusionMatrix(tn=16), ConfusionMatrix(tn=10, fp=2, fn=1, tp=3), ConfusionMatrix(tn=12, fn=4)]
    assert per_image_dice(images) == pytest.approx((1.0 + 6 / 9 + 0.0) / 3)


def test_ignored_pixels_do_not_count():
    weights = np.ones((4, 4))
    weights[0, 0] = 0  # a true positive pixel
    cm = ConfusionMatrix.from_masks(TRUTH, PRED, weights)
    assert (cm.tn, cm.fp, cm.fn, cm.tp) == (10, 2, 1, 2)


def test_scores_compute_all_names_and_add_up():
    total = ConfusionMatrix(1, 2, 3, 4) + ConfusionMatrix(10, 20, 30, 40)
    assert total == ConfusionMatrix(11, 22, 33, 44)
    scores = Scores.compute(total, [total])
    assert set(scores.as_dict()) == {"mIOU", "DSC", "MPCA", "Acc", "defect_IoU", "defect_Dice", "per_image_Dice",
                                     "image_precision", "image_recall", "image_F1", "image_AUROC"}


def test_default_rule_is_probability_one_half_and_reference_rule_is_logit_one_half():
    logits = np.array([-0.1, 0.0, 0.1, 0.4, 0.6])
    assert DecisionRule().on_logits(logits).tolist() == [False, False, True, True, True]
    reference = DecisionRule(threshold=0.5, space="logit")
    assert reference.on_logits(logits).tolist() == [False, False, False, False, True]
    assert reference.probability_cutoff == pytest.approx(0.6225, abs=1e-4)
    probabilities = 1 / (1 + np.exp(-logits))
    assert DecisionRule(threshold=0.3).on_probabilities(probabilities).tolist() == [True] * 5


def test_truth_binarization_and_uint8_masks():
    assert binarize_truth(np.array([0.0, 0.49, 0.5, 1.0])).tolist() == [False, False, True, True]
    assert to_uint8_mask(np.array([True, False])).tolist() == [255, 0]


def image_scores(images: list[ConfusionMatrix]) -> tuple[float, float, float]:
    """(precision, recall, F1) of the image-level decision, as evaluation scores it."""
    scores = Scores.compute(sum(images, ConfusionMatrix()), images)
    return scores.image_precision, scores.image_recall, scores.image_F1


def test_image_level_scores_count_one_decision_per_image():
    from unet_defects.domain.metrics import part_scores

    found = ConfusionMatrix(tn=90, fp=2, fn=3, tp=5)  # defective, predicted defective
    missed = ConfusionMatrix(tn=95, fp=0, fn=5, tp=0)  # defective, nothing predicted
    alarm = ConfusionMatrix(tn=99, fp=1, fn=0, tp=0)  # clean, a pixel predicted
    clean = ConfusionMatrix(tn=100)
    # One part each: tn 1, fp 1, fn 1, tp 1, the verdicts read from the four images' masks.
    images = [found, missed, alarm, clean]
    pooled = sum(images, ConfusionMatrix())
    one_each = part_scores([cm.tp + cm.fn > 0 for cm in images], [cm.tp + cm.fp > 0 for cm in images],
                           pooled.tp, pooled.fp, pooled.fn)
    assert (one_each.image_precision, one_each.image_recall, one_each.false_alarm_rate) == (0.5, 0.5, 0.5)
    assert image_scores([found, missed, alarm, clean]) == (0.5, 0.5, 0.5)
    assert image_scores([found, found, missed, alarm, clean]) == pytest.approx((2 / 3, 2 / 3, 2 / 3))
    assert image_scores([missed, clean]) == (0.0, 0.0, 0.0)  # nothing predicted: a collapse scores 0
    assert image_scores([clean, clean]) == (1.0, 1.0, 1.0)  # nothing to find and nothing found
    assert image_scores([alarm]) == (0.0, 0.0, 0.0)  # a false alarm where nothing was to be found


def test_part_scores_is_the_one_part_level_computation_and_its_empty_conventions():
    from unet_defects.domain.metrics import PartScores, dice, part_scores

    # Parts: 2 defective (1 flagged), 3 good (1 flagged); pixels tp 6, fp 2, fn 4; ranked by scores.
    scores = part_scores([True, True, False, False, False], [True, False, True, False, False], 6, 2, 4,
                         [0.9, 0.3, 0.5, 0.2, 0.1])
    assert scores == PartScores(image_precision=0.5, image_recall=0.5, image_F1=0.5, false_alarm_rate=1 / 3,
                                defect_Dice=12 / 18, image_AUROC=pytest.approx(5 / 6))  # 0.9 beats 3 good, 0.3 two
    assert dice(6, 2, 4) == 12 / 18 and dice(0, 0, 0) == 1.0 and dice(0, 1, 0) == 0.0
    no_good = part_scores([True], [True], 3, 0, 0, [0.7])
    assert no_good.false_alarm_rate is None and no_good.image_AUROC is None  # one kind of part: undefined
    assert part_scores([], [], 0, 0, 0) == PartScores(1.0, 1.0, 1.0, None, 1.0, None)  # nothing at all
    with pytest.raises(ValueError, match="2 parts in the truth, 1 verdicts"):
        part_scores([True, False], [True], 0, 0, 0)
