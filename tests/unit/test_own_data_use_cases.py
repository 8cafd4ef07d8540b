"""Training sized by time, learning made visible, and the test images scored apart, with fakes."""

import itertools

import numpy as np

from tests.unit.test_use_cases import UseCaseFakes, batch
from unet_defects.adapters.fakes import FakeDatasetReader, FakeTrainer, RecordingObserver
from unet_defects.application.evaluation import EvaluateSplitsUseCase, FinalEvaluationUseCase
from unet_defects.application.training import TrainAndEvaluateUseCase
from unet_defects.domain.experiment import EvalSpec
from unet_defects.domain.invocation import Invocation
from unet_defects.domain.training import RunSpec


def test_the_time_budget_stops_training_with_a_checkpoint_that_is_evaluated():
    run = RunSpec(model_dir="m", max_steps=1000, save_checkpoints_steps=100, time_budget=25)
    world = UseCaseFakes(run)
    world.trainer = FakeTrainer(run, world.checkpoints, seconds_per_step=0.1)
    world.train = world.train_with(Invocation())
    done = TrainAndEvaluateUseCase(world.train, world.evaluate, world.checkpoints).execute()
    assert done.training.stopped_by == "time_budget"
    assert done.training.final_step == 250 and done.training.seconds >= 25
    assert 250 in world.checkpoints.saved  # the step the budget ran out at, saved
    assert [r.step for r in done.evaluations] == [100, 200, 250]


def test_without_a_budget_the_run_ends_at_max_steps():
    run = RunSpec(model_dir="m", max_steps=30, save_checkpoints_steps=10)
    world = UseCaseFakes(run)
    world.trainer = FakeTrainer(run, world.checkpoints, seconds_per_step=10.0)
    world.train = world.train_with(Invocation())
    assert world.train.execute().stopped_by == "max_steps"


def at_chance_world(run: RunSpec) -> UseCaseFakes:
    """Every image has the same bright pixel; the defect sits on a dark one: whatever the model
    does, its largest probability cannot tell defective images from good ones."""
    world = UseCaseFakes(run)
    defective = batch([(0, 0)], [(5, 5)], size=1)
    good = batch([(0, 0)], [], size=1)
    world.reader = FakeDatasetReader([defective], eval_batches=[defective, good])
    world.evaluate = world.evaluate_with(run=run)
    world.train = world.train_with(Invocation())
    return world


def test_each_evaluation_prints_a_learning_line_and_a_model_at_chance_is_named_with_advice():
    run = RunSpec(model_dir="m", max_steps=30, save_checkpoints_steps=10)
    world = at_chance_world(run)
    observer = RecordingObserver()
    advice = ("model.input_downscale: 4 (wide defects)", "a longer runconfig.time_budget")
    clock = itertools.count(0.0, 1.5).__next__  # each evaluation takes 1.5 s
    TrainAndEvaluateUseCase(world.train, world.evaluate, world.checkpoints, observer, advice, clock=clock).execute()
    lines = [event[1] for event in observer.of_kind("message")]
    learning = [line for line in lines if line.startswith("evaluation at step")]
    assert learning == ["evaluation at step 10: defect Dice 0.000, image AUROC 0.500 (2 images in 1.5 s)",
                        "evaluation at step 20: defect Dice 0.000 (+0.000), image AUROC 0.500 (+0.000) (2 images in "
                        "1.5 s)",
                        "evaluation at step 30: defect Dice 0.000 (+0.000), image AUROC 0.500 (+0.000) (2 images in "
                        "1.5 s)"]
    warnings = [line for line in lines if line.startswith("warning: the model is not learning yet")]
    assert len(warnings) == 2  # from the second evaluation at chance on
    assert "image AUROC 0.500 is within 0.05 of 0.5" in warnings[0]
    assert warnings[0].endswith("most likely to help here: model.input_downscale: 4 (wide defects) and a longer "
                                "runconfig.time_budget")


def test_a_model_that_learns_gets_no_warning():
    run = RunSpec(model_dir="m", max_steps=20, save_checkpoints_steps=10)
    world = UseCaseFakes(run)
    observer = RecordingObserver()
    TrainAndEvaluateUseCase(world.train, world.evaluate, world.checkpoints, observer, ("x", "y")).execute()
    assert not [e for e in observer.of_kind("message") if "not learning" in e[1]]


def split_world(run: RunSpec) -> UseCaseFakes:
    """A validation part that chooses checkpoints and test images scored apart (all defect
    pixels bright on validation, dark on test, so the two scores differ)."""
    world = UseCaseFakes(run)
    validation = [batch([(0, 0)], [(0, 0)], size=2)]
    test = [batch([(0, 0)], [(3, 3)], size=3)]
    world.reader = FakeDatasetReader([batch([(0, 0)], [(0, 0)])], eval_batches=validation, test_batches=test)
    world.evaluate = world.evaluate_with(run=run, validation=True)
    world.train = world.train_with(Invocation())
    return world


def test_with_a_validation_part_the_best_checkpoint_is_scored_once_on_the_test_images():
    run = RunSpec(model_dir="m", max_steps=30, save_checkpoints_steps=10, keep_best="defect_Dice")
    world = split_world(run)
    final = FinalEvaluationUseCase(world.evaluate, world.best, world.artifacts)
    done = TrainAndEvaluateUseCase(world.train, world.evaluate, world.checkpoints, final=final).execute()
    assert [r.split for r in done.evaluations] == ["validation"] * 3
    assert done.final.validation.split == "validation" and done.final.test.split == "test"
    assert done.final.test.num_images == 3 and done.final.validation.num_images == 2
    best = world.best.best()
    assert done.final.test.step == best.checkpoint.step == 10  # the first best stays: later ties do not replace it
    assert done.final.validation.scores.defect_Dice == 1.0 and done.final.test.scores.defect_Dice == 0.0
    results = world.artifacts.final
    assert results["split"] == "test" and results["defect_Dice"] == 0.0
    assert results["validation"]["defect_Dice"] == 1.0 and results["test"]["num_images"] == 3
    # Only validation evaluations may keep a best checkpoint.
    assert [r.best is not None for r in world.artifacts.evaluations if r.split == "test"] == [False]


def test_mode_eval_scores_both_splits_with_a_validation_part_and_one_without():
    run = RunSpec(model_dir="m", max_steps=5)
    world = split_world(run)
    world.train.execute()
    both = EvaluateSplitsUseCase(world.evaluate, FinalEvaluationUseCase(world.evaluate, world.best,
                                                                         world.artifacts)).execute()
    assert [r.split for r in both] == ["validation", "test"] and both[1].step == 5
    plain = UseCaseFakes(run)
    plain.train.execute()
    one = EvaluateSplitsUseCase(plain.evaluate, FinalEvaluationUseCase(plain.evaluate, plain.best,
                                                                        plain.artifacts)).execute()
    assert [r.split for r in one] == ["eval"] and plain.artifacts.final is None
    assert np.isclose(one[0].scores.defect_Dice, 1.0)


def test_a_calibrating_run_chooses_its_decision_on_the_validation_part_before_the_test_and_says_so():
    from tests.unit.test_use_cases import WORLD_DATA
    from unet_defects.application.calibrate import CalibrateUseCase
    from unet_defects.domain.errors import DataError

    run = RunSpec(model_dir="m", max_steps=20, save_checkpoints_steps=10)
    world = split_world(run)
    world.evaluate = world.evaluate_with(run=run, validation=True, full=True)
    calibrate = CalibrateUseCase(world.opener(WORLD_DATA), world.reader, world.evaluator, world.components,
                                 world.calibration, EvalSpec(), run)
    observer = RecordingObserver()
    final = FinalEvaluationUseCase(world.evaluate, world.best, world.artifacts)
    done = TrainAndEvaluateUseCase(world.train, world.evaluate, world.checkpoints, observer, final=final,
                                   calibrate=calibrate).execute()
    assert done.calibration is not None and world.calibration.calibration is not None
    assert any(text.startswith("calibrated the decision on 2 validation images: threshold ")
               for _, text in observer.of_kind("message"))
    # Both blocks are scored with the calibrated decision (the validation part anew), at the last step.
    assert "calibration.json" in done.final.validation.decision and "calibration.json" in done.final.test.decision
    assert done.final.test.step == 20

    class Refusing:
        def execute(self, image_recall=None):
            raise DataError("image_recall 1: no candidate decision reaches it")

    refused = split_world(run)
    observer = RecordingObserver()
    final = FinalEvaluationUseCase(refused.evaluate, refused.best, refused.artifacts)
    done = TrainAndEvaluateUseCase(refused.train, refused.evaluate, refused.checkpoints, observer, final=final,
                                   calibrate=Refusing()).execute()
    assert done.calibration is None and done.final.test.split == "test"
    assert ("warning: calibration on the validation part failed (image_recall 1: no candidate decision reaches it); "
            "the test images are scored with the decision in force before") in [
        text for _, text in observer.of_kind("message")]


def test_the_run_draws_the_kept_checkpoints_validation_pictures_and_the_tests_and_keeps_no_others():
    from unet_defects.adapters.fakes import FakePictureWriter

    run = RunSpec(model_dir="m", max_steps=30, save_checkpoints_steps=10, keep_best="defect_Dice")
    world = split_world(run)
    writer = FakePictureWriter()
    world.evaluate = world.evaluate_with(run=run, validation=True, pictures=writer)
    final = FinalEvaluationUseCase(world.evaluate, world.best, world.artifacts)
    done = TrainAndEvaluateUseCase(world.train, world.evaluate, world.checkpoints, final=final).execute()
    assert world.best.best().checkpoint.step == 10  # kept before the last evaluation (step 30)
    assert [(pictures.split, pictures.step) for pictures in writer.written] == [("validation", 10), ("test", 10)]
    held = [result.step for result in done.evaluations if result.pictures is not None]
    assert held == [10, 30]  # the kept checkpoint's and the last; step 20's inputs were let go
    assert any(path.startswith("validation/") for path in done.final.validation.written)
