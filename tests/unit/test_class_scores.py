"""Several defect classes: per-class scores, their mean and kaggle_dice on literal counts, and
the evaluation use case's per_class block with fakes."""

import numpy as np
import pytest

from tests.unit.test_use_cases import WORLD_DATA, UseCaseFakes
from unet_defects.adapters.fakes import FakeDatasetReader, FakeEvaluator
from unet_defects.application.evaluation import EvaluateUseCase
from unet_defects.application.evaluation_scoring import EvaluationScoring
from unet_defects.application.session import SessionOpener
from unet_defects.domain.class_scores import kaggle_dice, mean_scores
from unet_defects.domain.data import DataSpec
from unet_defects.domain.experiment import EvalSpec
from unet_defects.domain.invocation import Invocation
from unet_defects.domain.metrics import ConfusionMatrix, Scores
from unet_defects.domain.topology import UNetSpec
from unet_defects.domain.training import RunSpec

TWO_CLASS_DATA = DataSpec(dataset="ImageFolderDataset", dataset_path="d", image_shape=(8, 8, 1),
                          defect_class_names=("scratch", "dent"))


def test_kaggle_dice_averages_every_image_class_pair_with_empty_pairs_counting_one():
    scratch = [ConfusionMatrix(tn=60, fp=0, fn=2, tp=2), ConfusionMatrix(tn=64)]  # 4/6, then empty/empty
    dent = [ConfusionMatrix(tn=61, fp=3), ConfusionMatrix(tn=64)]  # a false alarm (0), then empty/empty
    assert kaggle_dice([scratch, dent]) == pytest.approx((4 / 6 + 1 + 0 + 1) / 4)
    with pytest.raises(ValueError):
        kaggle_dice([[], []])


def test_the_mean_of_the_classes_takes_image_auroc_where_it_is_defined():
    first = Scores(mIOU=0.8, DSC=0.9, MPCA=0.7, Acc=0.99, defect_IoU=0.5, defect_Dice=0.6, per_image_Dice=0.7,
                   image_precision=1.0, image_recall=0.5, image_F1=2 / 3, image_AUROC=0.9)
    second = Scores(mIOU=0.6, DSC=0.7, MPCA=0.5, Acc=0.97, defect_IoU=0.1, defect_Dice=0.2, per_image_Dice=0.3,
                    image_precision=0.0, image_recall=0.0, image_F1=0.0, image_AUROC=None)
    mean = mean_scores([first, second])
    assert mean.defect_Dice == pytest.approx(0.4) and mean.image_F1 == pytest.approx(1 / 3)
    assert mean.image_AUROC == pytest.approx(0.9)
    assert mean_scores([second, second]).image_AUROC is None


def two_class_batch():
    """Image 0: bright (0, 0) and (1, 1), so the fake predicts both pixels for both classes;
    scratch truth (0, 0), dent truth (1, 1) and (2, 2). Image 1: nothing bright, nothing true."""
    images = np.zeros((2, 8, 8, 1), np.float32)
    masks = np.zeros((2, 8, 8, 2), np.float32)
    images[0, 0, 0, 0] = images[0, 1, 1, 0] = 1.0
    masks[0, 0, 0, 0] = 1.0
    masks[0, 1, 1, 1] = masks[0, 2, 2, 1] = 1.0
    return images, masks


def test_evaluation_scores_each_class_and_reports_their_mean_and_kaggle_dice():
    world = UseCaseFakes(RunSpec(model_dir="m", max_steps=1))
    topology = UNetSpec(image_shape=(8, 8, 1), encoder_filters=(2, 4), decoder_filters=(2,), num_classes=3)
    opener = SessionOpener(world.builder, world.checkpoints, world.best, world.engines, topology, WORLD_DATA,
                           EvalSpec().rule, None)
    world.checkpoints.saved[1] = 1
    scoring = EvaluationScoring(FakeDatasetReader([two_class_batch()]), FakeEvaluator(), EvalSpec(), world.run)
    evaluate = EvaluateUseCase(opener, scoring, world.checkpoints,
                               world.artifacts, EvalSpec(), world.run, Invocation(),
                               classes=((1, "scratch"), (2, "dent")))
    result = evaluate.execute()
    (first, scratch_name, scratch), (second, dent_name, dent) = result.per_class
    assert (first, scratch_name, second, dent_name) == (1, "scratch", 2, "dent")
    assert scratch.defect_Dice == pytest.approx(2 / 3)  # tp 1, fp 1 (the dent's pixel)
    assert dent.defect_Dice == pytest.approx(0.5)  # tp 1, fp 1, fn 1
    assert scratch.per_image_Dice == pytest.approx((2 / 3 + 1) / 2)
    assert scratch.image_AUROC == 1.0 and dent.image_recall == 1.0
    assert result.scores.defect_Dice == pytest.approx((2 / 3 + 0.5) / 2)  # the top level: the mean
    assert result.kaggle_dice == pytest.approx((2 / 3 + 1 + 0.5 + 1) / 4)
    saved = result.as_dict()
    assert saved["defect_Dice"] == pytest.approx(result.scores.defect_Dice)
    assert saved["per_class"]["2"]["name"] == "dent"
    assert saved["per_class"]["2"]["defect_Dice"] == pytest.approx(0.5)
    assert saved["kaggle_dice"] == pytest.approx(result.kaggle_dice)


def test_with_several_classes_the_top_level_image_scores_are_the_parts():
    """Image 0: bright (0, 0), so both classes are predicted there; a scratch is true there.
    Image 1: a dent is true at (1, 1), nothing bright. Image 2: nothing. The part's verdict:
    image 0 found, image 1 missed: precision 1, recall 1/2. The classes' mean would give
    precision 1/2 (the dent's only flag, image 0, is a false one)."""
    images = np.zeros((3, 8, 8, 1), np.float32)
    masks = np.zeros((3, 8, 8, 2), np.float32)
    images[0, 0, 0, 0] = 1.0
    masks[0, 0, 0, 0] = masks[1, 1, 1, 1] = 1.0
    world = UseCaseFakes(RunSpec(model_dir="m", max_steps=1))
    topology = UNetSpec(image_shape=(8, 8, 1), encoder_filters=(2, 4), decoder_filters=(2,), num_classes=3)
    opener = SessionOpener(world.builder, world.checkpoints, world.best, world.engines, topology, WORLD_DATA,
                           EvalSpec().rule, None)
    world.checkpoints.saved[1] = 1
    scoring = EvaluationScoring(FakeDatasetReader([(images, masks)]), FakeEvaluator(), EvalSpec(), world.run)
    evaluate = EvaluateUseCase(opener, scoring, world.checkpoints,
                               world.artifacts, EvalSpec(), world.run, Invocation(),
                               classes=((1, "scratch"), (2, "dent")))
    result = evaluate.execute()
    (_, _, scratch), (_, _, dent) = result.per_class
    assert (scratch.image_precision, dent.image_precision, dent.image_recall) == (1.0, 0.0, 0.0)
    assert (result.scores.image_precision, result.scores.image_recall) == (1.0, 0.5)
    op = result.operating_point
    assert (op.found, op.defective, op.stopped) == (1, 2, 0)


def test_one_class_keeps_todays_results_with_no_class_block():
    world = UseCaseFakes(RunSpec(model_dir="m", max_steps=1))
    world.train.execute()
    plain = world.evaluate_with().execute()
    named = world.evaluate_with(classes=((3, "class 3"),)).execute()
    assert named.scores == plain.scores and named.as_dict() == plain.as_dict()
    assert "per_class" not in named.as_dict() and "kaggle_dice" not in named.as_dict()


def test_calibrated_classes_are_scored_each_under_its_own_threshold():
    """The evaluation of a calibrated model of two classes: the dent's threshold 0.7 drops its
    predicted pixel (probability sigmoid(0.5) = 0.62), the scratch's 0.5 keeps it."""
    from unet_defects.adapters.fakes import FakeCalibrationStore
    from unet_defects.domain.calibration import Calibration
    from unet_defects.domain.decision import Decision

    world = UseCaseFakes(RunSpec(model_dir="m", max_steps=1))
    topology = UNetSpec(image_shape=(8, 8, 1), encoder_filters=(2, 4), decoder_filters=(2,), num_classes=3)
    store = FakeCalibrationStore((Calibration(Decision(0.5, 0, class_id=1, name="scratch")),
                                  Calibration(Decision(0.7, 0, class_id=2, name="dent"))))
    opener = SessionOpener(world.builder, world.checkpoints, world.best, world.engines, topology,
                           TWO_CLASS_DATA, EvalSpec().rule, store)
    world.checkpoints.saved[1] = 1
    scoring = EvaluationScoring(FakeDatasetReader([two_class_batch()]), FakeEvaluator(), EvalSpec(), world.run)
    evaluate = EvaluateUseCase(opener, scoring, world.checkpoints,
                               world.artifacts, EvalSpec(), world.run, Invocation(),
                               components=world.components, classes=((1, "scratch"), (2, "dent")))
    result = evaluate.execute()
    (_, _, scratch), (_, _, dent) = result.per_class
    assert scratch.defect_Dice == pytest.approx(2 / 3)
    assert dent.defect_Dice == 0.0  # nothing predicted, two true pixels
    assert "class 1: threshold 0.5" in result.decision and "class 2: threshold 0.7" in result.decision
