"""Every defect type learns, or is named: each class's collapse flag in results.json, its Dice
in the learning line, the warning naming a collapsed class and the advice it gives."""

import attrs
import numpy as np
import pytest

from tests.unit.test_use_cases import UseCaseFakes, experiment_for
from unet_defects.adapters.fakes import FakeCalibrationStore, FakeDatasetReader, FakeEvaluator, RecordingObserver
from unet_defects.application.evaluation import EvaluateUseCase
from unet_defects.application.evaluation_result import EvaluationResult, class_collapse_warning
from unet_defects.application.evaluation_scoring import EvaluationScoring
from unet_defects.application.session import SessionOpener
from unet_defects.application.training import TrainAndEvaluateUseCase, learning_point
from unet_defects.domain.advice import class_advice_for, class_collapse_advice
from unet_defects.domain.calibration import Calibration
from unet_defects.domain.data import DataSpec
from unet_defects.domain.decision import Decision
from unet_defects.domain.experiment import EvalSpec
from unet_defects.domain.invocation import Invocation
from unet_defects.domain.learning import LearningPoint, learning_line
from unet_defects.domain.metrics import ConfusionMatrix, DefectBalance, Scores
from unet_defects.domain.topology import UNetSpec
from unet_defects.domain.training import RunSpec

NAMES = ("Blowhole", "Break", "Crack")
CLASSES = tuple(enumerate(NAMES, start=1))
THREE_CLASS_DATA = DataSpec(dataset="ImageFolderDataset", dataset_path="d", image_shape=(8, 8, 1),
                            defect_class_names=NAMES)
TOPOLOGY = UNetSpec(image_shape=(8, 8, 1), encoder_filters=(2, 4), decoder_filters=(2,), num_classes=4)
ADVICE = ("train_input.defect_sampling_by: class", "a longer runconfig.time_budget")


def three_class_batch():
    """Image 0: bright (0, 0), (1, 1) and (2, 2), each class's probability sigmoid(0.5) = 0.62
    there; truth: Blowhole (0, 0), Break (1, 1), Crack (2, 2) and (3, 3). Image 1: nothing.
    Crack's threshold 0.7 (below) drops its three predicted pixels: it predicts nothing."""
    images = np.zeros((2, 8, 8, 1), np.float32)
    masks = np.zeros((2, 8, 8, 3), np.float32)
    images[0, 0, 0, 0] = images[0, 1, 1, 0] = images[0, 2, 2, 0] = 1.0
    masks[0, 0, 0, 0] = masks[0, 1, 1, 1] = masks[0, 2, 2, 2] = masks[0, 3, 3, 2] = 1.0
    return images, masks


def three_class_evaluation(world: UseCaseFakes, batch=None, **options) -> EvaluateUseCase:
    store = FakeCalibrationStore(tuple(Calibration(Decision(0.7 if name == "Crack" else 0.5, 0, class_id=k, name=name))
                                       for k, name in CLASSES))
    opener = SessionOpener(world.builder, world.checkpoints, world.best, world.engines, TOPOLOGY, THREE_CLASS_DATA,
                           EvalSpec().rule, store)
    scoring = EvaluationScoring(FakeDatasetReader([batch or three_class_batch()]), FakeEvaluator(), EvalSpec(), world.run)
    return EvaluateUseCase(opener, scoring, world.checkpoints, world.artifacts, EvalSpec(), world.run, Invocation(),
                           classes=CLASSES, **options)


def test_each_class_of_several_carries_its_own_collapse_flag_and_shares():
    world = UseCaseFakes(RunSpec(model_dir="m", max_steps=1))
    world.checkpoints.saved[1] = 1
    result = three_class_evaluation(world, class_advice=ADVICE).execute()
    saved = result.as_dict()
    pixels = 2 * 64
    assert saved["collapsed"] is False  # pooled over the 3 classes' pixels: 4 true, 6 predicted
    assert (saved["true_defect_fraction"], saved["predicted_defect_fraction"]) == (4 / (3 * pixels), 6 / (3 * pixels))
    blowhole, break_, crack = (saved["per_class"][str(k)] for k, _ in CLASSES)
    assert [c["collapsed"] for c in (blowhole, break_, crack)] == [False, False, True]
    assert (blowhole["true_defect_fraction"], blowhole["predicted_defect_fraction"]) == (1 / pixels, 3 / pixels)
    assert (crack["true_defect_fraction"], crack["predicted_defect_fraction"]) == (2 / pixels, 0.0)
    assert crack["name"] == "Crack" and crack["defect_Dice"] == 0.0
    # The same rule as the pooled flag: DefectBalance.collapsed of the class's counts.
    assert result.class_balance[2] == DefectBalance(2 / pixels, 0.0) and result.class_balance[2].collapsed
    warning, = result.warnings  # only the class: the pooled model has not collapsed
    assert warning == ("class 'Crack' predicts almost no defect pixels (0.000 % against 1.562 % in the truth): it "
                       "has collapsed to background; most likely to help: train_input.defect_sampling_by: class, "
                       "a longer runconfig.time_budget")


def test_without_advice_wired_the_warning_advises_from_the_run():
    world = UseCaseFakes(RunSpec(model_dir="m", max_steps=1, time_budget="30m"))
    world.checkpoints.saved[1] = 1
    warning, = three_class_evaluation(world).execute().warnings
    assert warning.startswith("class 'Crack' predicts almost no defect pixels")
    assert warning.endswith("most likely to help: train_input.defect_sampling_by: class with "
                            "train_input.defect_sampling: 0.5 (its defects drawn more often), a longer "
                            "runconfig.time_budget")


def test_a_pooled_collapse_warns_of_the_model_then_of_each_collapsed_class():
    world = UseCaseFakes(RunSpec(model_dir="m", max_steps=1))
    world.checkpoints.saved[1] = 1
    images, masks = three_class_batch()
    dark = np.zeros_like(images)  # nothing bright: no class predicts anything
    result = three_class_evaluation(world, (dark, masks), class_advice=ADVICE).execute()
    assert result.balance.collapsed and all(balance.collapsed for balance in result.class_balance)
    assert result.warnings[0].startswith("the model predicts almost no defect pixels")
    assert [w.split(" predicts")[0] for w in result.warnings[1:]] == [f"class {name!r}" for name in NAMES]


def test_one_class_results_name_no_class_balance_and_keep_one_warning():
    world = UseCaseFakes(RunSpec(model_dir="m", max_steps=1))
    world.train.execute()
    saved = world.evaluate.execute().as_dict()
    assert "per_class" not in saved and list(saved).count("collapsed") == 1
    world.reader = FakeDatasetReader([(np.zeros((2, 8, 8, 1), np.float32), np.ones((2, 8, 8, 1), np.float32))])
    warning, = world.evaluate_with().execute().warnings
    assert warning.startswith("the model predicts almost no defect pixels")


def scores(tp: int, fp: int, fn: int) -> Scores:
    return Scores.compute(ConfusionMatrix(tn=100, fp=fp, fn=fn, tp=tp), [ConfusionMatrix(tn=100, fp=fp, fn=fn, tp=tp)])


def result_of(per_class: tuple = (), dice: float = 0.512) -> EvaluationResult:
    pooled = Scores(mIOU=0.5, DSC=0.5, MPCA=0.5, Acc=0.9, defect_IoU=0.3, defect_Dice=dice, per_image_Dice=0.5)
    return EvaluationResult(step=500, scores=pooled, num_images=2, per_image_dice=(), per_class=per_class)


def test_a_result_built_without_class_balances_writes_the_class_scores_alone():
    per_class = ((1, "Blowhole", scores(5, 0, 0)), (2, "Crack", scores(0, 0, 4)))
    entry = result_of(per_class).as_dict()["per_class"]["2"]
    assert entry["name"] == "Crack" and "collapsed" not in entry


def test_the_learning_line_shows_each_class_dice_after_the_mean():
    per_class = ((1, "Blowhole", scores(5, 1, 1)), (2, "Break", scores(7, 3, 3)), (3, "Crack", scores(0, 0, 4)))
    now = attrs.evolve(learning_point(result_of(per_class)), image_auroc=0.8, true_fraction=0.02)
    before = LearningPoint(250, 0.4, 0.75, 0.02)
    assert learning_line("validation", now) == (
        "validation at step 500: defect Dice 0.512 (Blowhole 0.83, Break 0.70, Crack 0.00), image AUROC 0.800")
    assert learning_line("validation", now, before) == (
        "validation at step 500: defect Dice 0.512 (+0.112) (Blowhole 0.83, Break 0.70, Crack 0.00), "
        "image AUROC 0.800 (+0.050)")
    one = attrs.evolve(learning_point(result_of(((1, "Blowhole", scores(5, 1, 1)),))), image_auroc=0.8)
    assert learning_line("validation", one, before) == (  # one class: the line as it always was
        "validation at step 500: defect Dice 0.512 (+0.112), image AUROC 0.800 (+0.050)")


def test_training_logs_each_class_dice_and_names_the_collapsed_class():
    world = UseCaseFakes(RunSpec(model_dir="m", max_steps=1))
    observer = RecordingObserver()
    evaluation = three_class_evaluation(world, class_advice=ADVICE)
    outcome = TrainAndEvaluateUseCase(world.train, evaluation, world.checkpoints, observer).execute()
    lines = [event[1] for event in observer.of_kind("message")]
    line, = [line for line in lines if line.startswith("evaluation at step")]
    assert "(Blowhole 0.50, Break 0.50, Crack 0.00)" in line
    assert "class 'Crack'" in outcome.evaluations[-1].warnings[0]
    assert not any(line.startswith("warning: class") for line in lines)  # once is not yet a collapse


def test_a_class_collapsed_in_two_evaluations_in_a_row_is_named_once_as_training_goes():
    world = UseCaseFakes(RunSpec(model_dir="m", max_steps=3, save_checkpoints_steps=1))
    observer = RecordingObserver()
    TrainAndEvaluateUseCase(world.train, three_class_evaluation(world, class_advice=ADVICE), world.checkpoints,
                            observer).execute()
    lines = [event[1] for event in observer.of_kind("message")]
    named = [i for i, line in enumerate(lines) if line.startswith("warning: class 'Crack' predicts almost no")]
    learning = [i for i, line in enumerate(lines) if line.startswith("evaluation at step")]
    assert len(learning) == 3 and len(named) == 1 and learning[1] < named[0] < learning[2]
    assert lines[named[0]].endswith("most likely to help: train_input.defect_sampling_by: class, a longer "
                                    "runconfig.time_budget")


def test_class_advice_suggests_only_a_change_from_the_current_values():
    default = class_collapse_advice()
    assert default == ("train_input.defect_sampling_by: class with train_input.defect_sampling: 0.5 (its defects "
                       "drawn more often)", "more runconfig.max_steps")
    crops = class_collapse_advice(sampling_by="image", sampling=0.5, image_fit="crop", downscale=2, time_budget=600.0)
    assert crops == ("train_input.defect_sampling_by: class (its defects centred more often)",
                     "a smaller model.input_downscale (thin defects stay visible)", "a longer runconfig.time_budget")
    by_class = class_collapse_advice(sampling_by="class", sampling=0.2, image_fit="crop")
    assert by_class[0] == "train_input.defect_sampling: 0.5 (every type's defects centred more often, its share too)"
    assert class_collapse_advice(sampling_by="class", sampling=0.8, downscale=1) == ("more runconfig.max_steps",)
    assert not any("input_downscale" in text for text in class_collapse_advice(downscale=1))


@pytest.mark.parametrize("downscale, expected", [(1, False), (4, True)])
def test_class_advice_reads_the_experiment(downscale, expected):
    run = RunSpec(model_dir="m", max_steps=1, time_budget="1h")
    experiment = experiment_for(run, model={"input_downscale": downscale},
                                train_input={"dataset": "external", "image_shape": [8, 8, 1], "image_fit": "crop",
                                             "defect_sampling": 0.25})
    advice = class_advice_for(experiment)
    assert advice[0] == ("train_input.defect_sampling_by: class with train_input.defect_sampling: 0.5 (its defects "
                         "centred more often)")
    assert any("input_downscale" in text for text in advice) is expected
    assert advice[-1] == "a longer runconfig.time_budget"


def test_the_warning_names_the_class_and_its_shares():
    text = class_collapse_warning("Crack", DefectBalance(0.0021, 0.00001), ("a", "b"))
    assert text == ("class 'Crack' predicts almost no defect pixels (0.001 % against 0.210 % in the truth): it has "
                    "collapsed to background; most likely to help: a, b")


def test_a_class_with_no_defect_in_the_images_stays_out_of_the_mean_and_reads_n_a():
    images, masks = three_class_batch()
    masks[..., 2] = 0  # no Crack in these images; Crack predicts nothing either (its threshold 0.7)
    world = UseCaseFakes(RunSpec(model_dir="m", max_steps=1))
    world.checkpoints.saved[1] = 1
    result = three_class_evaluation(world, batch=(images, masks), class_advice=ADVICE).execute()
    assert [scores.defect_Dice for _, _, scores in result.per_class] == [0.5, 0.5, 1.0]  # empty truth, empty mask
    assert result.scores.defect_Dice == 0.5  # the mean of the classes that have defects here
    assert learning_line("validation", learning_point(result)) == (
        "validation at step 1: defect Dice 0.500 (Blowhole 0.50, Break 0.50, Crack n/a), image AUROC 1.000")


def test_a_one_class_model_collapsed_twice_is_told_by_the_learning_warning_alone():
    world = UseCaseFakes(RunSpec(model_dir="m", max_steps=2, save_checkpoints_steps=1))
    collapsing = world.evaluate_with(
        FakeDatasetReader([(np.zeros((2, 8, 8, 1), np.float32), np.ones((2, 8, 8, 1), np.float32))]))
    observer = RecordingObserver()
    outcome = TrainAndEvaluateUseCase(world.train, collapsing, world.checkpoints, observer).execute()
    assert all(result.balance.collapsed for result in outcome.evaluations)
    lines = [event[1] for event in observer.of_kind("message")]
    assert len([line for line in lines if line.startswith("evaluation at step")]) == 2
    assert not any(line.startswith("warning: class") for line in lines)
