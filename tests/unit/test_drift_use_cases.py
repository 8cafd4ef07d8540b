"""Drift's use cases with fakes: the reference written by training, its last held-out evaluation
and calibrate, carried by export; the Inspector's window, its figures and its one alarm."""

import threading

import numpy as np
import pytest

from tests.unit.test_deployment_use_cases import DATA, noisy_world
from tests.unit.test_own_data_use_cases import split_world
from tests.unit.test_use_cases import UseCaseFakes
from unet_defects.adapters.components import ScipyComponents
from unet_defects.adapters.fakes import FakeDriftReferenceStore, FakeTrainingImages, RecordingObserver
from unet_defects.application.batching import ProbabilityMaps
from unet_defects.application.drift_recording import NO_HELD_OUT, DriftRecorder
from unet_defects.application.evaluation import FinalEvaluationUseCase
from unet_defects.application.inspector import InspectionPipeline, InspectUseCase
from unet_defects.application.training import TrainAndEvaluateUseCase, TrainUseCase
from unet_defects.domain.drift import FLAGGED, MEAN_GRAY, PART_SCORE, SIZE, STATISTICS
from unet_defects.domain.drift_reference import DriftReference, InputReference, ScoreReference
from unet_defects.domain.drift_window import DriftSettings
from unet_defects.domain.errors import DataError
from unet_defects.domain.invocation import Invocation
from unet_defects.domain.training import RunSpec


def gray_images(count: int, level: int = 120, size: tuple[int, int] = (8, 8)) -> list[np.ndarray]:
    rng = np.random.default_rng(level)
    return [np.clip(rng.normal(level + i % 9, 12, size), 0, 255).astype(np.uint8) for i in range(count)]


def recorder(images=(), reference: DriftReference | None = None, limit: int = 500):
    store = FakeDriftReferenceStore(reference)
    return store, DriftRecorder(store, FakeTrainingImages(images), limit=limit)


def test_the_recorder_measures_a_bounded_seeded_sample_and_keeps_the_other_half():
    scores = ScoreReference.of([0.2, 0.7], [False, True], "2 eval images")
    store, drift = recorder(gray_images(8), DriftReference(scores=scores), limit=5)
    drift.record_inputs()
    inputs = store.reference.inputs
    assert inputs.source == "the training images (5 of 8, seed 0)"
    assert inputs.distributions[SIZE].mean == 64 and inputs.distributions[MEAN_GRAY].count == 5
    assert store.reference.scores == scores
    drift.record_scores([0.1, None, 0.3], [False, False, True], "3 validation images")
    assert store.reference.inputs == inputs and store.reference.scores.distributions[PART_SCORE].count == 2
    assert DriftRecorder(FakeDriftReferenceStore()).record_inputs() is None  # no image files: nothing written


def test_a_resumed_run_does_not_read_the_same_sample_again():
    store, drift = recorder(gray_images(8), limit=5)
    assert drift.record_inputs() is not None
    measured = store.reference.inputs
    drift._images = FakeTrainingImages([np.zeros((2, 2), np.uint8)] * 8)  # other pixels, the same sample
    assert drift.record_inputs() is None and store.reference.inputs == measured
    assert recorder(gray_images(9), store.reference, limit=5)[1].record_inputs() is not None  # another dataset


def test_training_writes_the_input_half_before_it_trains_and_a_failure_only_warns():
    world = UseCaseFakes(RunSpec(model_dir="m", max_steps=4))
    store, drift = recorder(gray_images(6))
    train = TrainUseCase(world.builder, world.reader, world.checkpoints, world.trainer, world.observer,
                         world.config_store, world.experiment, Invocation(), drift)
    train.execute()
    assert store.reference.inputs.source == "the training images (all 6)"
    assert any("drift reference: the training images' statistics written to" in text
               for _, text in world.observer.of_kind("message"))

    class Broken(FakeDriftReferenceStore):
        def save(self, reference):
            raise OSError("disk full")

    again = UseCaseFakes(RunSpec(model_dir="m", max_steps=2))
    TrainUseCase(again.builder, again.reader, again.checkpoints, again.trainer, again.observer, again.config_store,
                 again.experiment, Invocation(), DriftRecorder(Broken(), FakeTrainingImages(gray_images(2)))
                 ).execute()
    assert again.checkpoints.saved  # trained all the same
    assert "warning: no drift reference of the training images (disk full)" in [
        text for _, text in again.observer.of_kind("message")]


def test_train_and_eval_writes_the_score_half_from_the_kept_checkpoint_on_the_validation_part():
    run = RunSpec(model_dir="m", max_steps=20, save_checkpoints_steps=10, keep_best="defect_Dice")
    world = split_world(run)
    store, drift = recorder()
    final = FinalEvaluationUseCase(world.evaluate, world.best, world.artifacts)
    observer = RecordingObserver()
    done = TrainAndEvaluateUseCase(world.train, world.evaluate, world.checkpoints, observer, final=final,
                                   drift=drift).execute()
    scores = store.reference.scores
    assert done.final.validation.step == world.best.best().checkpoint.step  # the kept checkpoint's
    assert scores.source.startswith(f"2 validation images at step {done.final.validation.step}")
    assert scores.distributions[PART_SCORE].count == 2 == done.final.validation.num_images
    assert scores.distributions[FLAGGED].mean == pytest.approx(np.mean(done.final.validation.part_flagged))
    # without the final evaluation, the kept checkpoint's evaluation during training
    world = split_world(run)
    store, drift = recorder()
    done = TrainAndEvaluateUseCase(world.train, world.evaluate, world.checkpoints, drift=drift).execute()
    kept = next(result for result in reversed(done.evaluations) if result.best is not None)
    assert store.reference.scores.source.startswith(f"2 validation images at step {kept.step}")


def test_without_a_validation_part_the_test_images_feed_no_score_reference():
    plain = UseCaseFakes(RunSpec(model_dir="m", max_steps=10, save_checkpoints_steps=5))
    store, drift = recorder()
    observer = RecordingObserver()
    TrainAndEvaluateUseCase(plain.train, plain.evaluate, plain.checkpoints, observer, drift=drift).execute()
    assert store.reference is None or store.reference.scores is None
    assert NO_HELD_OUT in [text for _, text in observer.of_kind("message")]
    assert "run with train_input.validation_split, or unet calibrate on it" in NO_HELD_OUT


def test_a_score_reference_that_cannot_be_written_warns_and_the_run_stands():
    class Broken(FakeDriftReferenceStore):
        def save(self, reference):
            raise OSError("disk full")

    world = split_world(RunSpec(model_dir="m", max_steps=20, save_checkpoints_steps=10))
    observer = RecordingObserver()
    final = FinalEvaluationUseCase(world.evaluate, world.best, world.artifacts)
    done = TrainAndEvaluateUseCase(world.train, world.evaluate, world.checkpoints, observer, final=final,
                                   drift=DriftRecorder(Broken())).execute()
    assert done.final is not None
    assert "warning: no drift reference of the parts' scores (disk full)" in [
        text for _, text in observer.of_kind("message")]


def calibrate(drift: DriftRecorder, validation: bool):
    from unet_defects.application.calibrate import CalibrateUseCase
    from unet_defects.domain.experiment import EvalSpec

    world = noisy_world()
    use_case = CalibrateUseCase(world.opener(DATA), world.reader, world.evaluator, world.components,
                                world.calibration, EvalSpec(), world.run, drift=drift, validation=validation)
    return world, use_case.execute()


def test_calibrate_writes_the_scores_and_verdicts_at_the_decision_it_chose():
    store, drift = recorder()
    world, report = calibrate(drift, validation=True)
    scores = store.reference.scores
    assert scores.distributions[FLAGGED].mean == 1.0  # both images keep their true block at (0.5, 4)
    evaluated = world.evaluate.execute()  # the same parts scored by evaluation, at the decision chosen
    assert scores.distributions[PART_SCORE].count == 2
    assert scores.distributions[PART_SCORE].mean == pytest.approx(np.mean(evaluated.part_scores))
    assert scores.distributions[FLAGGED].mean == np.mean(evaluated.part_flagged)
    assert scores.source.startswith("2 calibration images (")
    assert report.drift == "drift reference: the calibration parts' scores written to memory://drift_reference.json"


def test_calibrate_without_a_validation_part_writes_no_score_reference_and_a_failure_only_warns():
    store, drift = recorder()
    _, report = calibrate(drift, validation=False)
    assert store.reference is None and report.drift == NO_HELD_OUT

    class Broken(FakeDriftReferenceStore):
        def save(self, reference):
            raise ValueError("a distribution of no values")

    _, report = calibrate(DriftRecorder(Broken()), validation=True)
    assert report.written and report.drift == "warning: no drift reference of the parts' scores (a distribution of no values)"


def test_export_carries_the_reference_into_its_folder_when_there_is_one():
    world = UseCaseFakes(RunSpec(model_dir="m", max_steps=1))
    world.train.execute()
    from unet_defects.adapters.runtimes.catalog import EXPORT_FORMATS
    from unet_defects.application.export import ExportUseCase

    empty = FakeDriftReferenceStore()
    assert not ExportUseCase(world.opener(DATA), world.exporter, EXPORT_FORMATS, drift=empty).execute("a").drift_reference
    held = FakeDriftReferenceStore(DriftReference(InputReference.of([(1.0, 2.0, 3)], "x")))
    report = ExportUseCase(world.opener(DATA), world.exporter, EXPORT_FORMATS, drift=held).execute("b")
    assert report.drift_reference and held.carried == [report.path]


def inspector(reference: DriftReference | None, settings: DriftSettings, alarm=None) -> InspectUseCase:
    world = UseCaseFakes(RunSpec(model_dir="m", max_steps=1))
    world.train.execute()
    pipeline = InspectionPipeline(ProbabilityMaps(world.predictor), ScipyComponents())
    return InspectUseCase(world.opener(DATA).open(), pipeline, drift=settings, alarm=alarm,
                          references=FakeDriftReferenceStore(reference))


def reference_of(images: list[np.ndarray], use_case: InspectUseCase) -> DriftReference:
    """The reference training and an evaluation would write for these images and this model."""
    from unet_defects.domain.drift import gray_statistics

    found = use_case.inspect_many(images)
    inputs = InputReference.of([(*gray_statistics(i), i.size) for i in images], "training")
    return DriftReference(inputs, ScoreReference.of([f.score for f in found], [f.defective for f in found], "eval"))


def test_a_model_without_a_reference_inspects_as_before_and_drift_says_so():
    use_case = inspector(None, DriftSettings(window=10, min_images=5))
    found = use_case.inspect_many(gray_images(12))
    assert len(found) == 12
    figures = use_case.drift()
    assert figures.reference is None and not figures.judged and "no drift reference" in figures.note
    assert figures.images == 10 and figures.seen == 12
    off = inspector(None, DriftSettings(window=0))
    off.inspect_many(gray_images(3))
    assert off.drift().images == 0 and off.drift().note == "drift is off (window 0)"


def test_a_darkened_stream_raises_one_alarm_naming_mean_gray_and_again_only_after_it_recovers():
    images = gray_images(40)
    heard: list[str] = []
    # A reference of 40 and windows of 20: the inputs judged over halves, whose calm PSI stays
    # under 0.81; the fake model's verdicts move with the gray level, so their bounds stand aside.
    settings = DriftSettings(window=40, min_images=20, bounds={**dict.fromkeys(STATISTICS, 1.0),
                                                               PART_SCORE: 100.0, FLAGGED: 100.0})
    reference = reference_of(images, inspector(None, settings))
    use_case = inspector(reference, settings, heard.append)
    for _ in range(2):
        use_case.inspect_many(images)
    assert heard == [] and use_case.drift().judged and use_case.drift().drifted == ()
    dark = [(image * 0.7).astype(np.uint8) for image in images]
    for start in range(0, 80, 10):
        use_case.inspect_many(dark[start % 40:start % 40 + 10])
    assert len(heard) == 1 and heard[0].startswith("drift: mean_gray PSI ") and "over the last 40 images" in heard[0]
    assert use_case.drift().statistic(MEAN_GRAY).window < 0.75 * reference.inputs.distributions[MEAN_GRAY].mean
    for _ in range(2):
        use_case.inspect_many(images)  # recovered: the window holds the reference's images again
    for _ in range(2):
        use_case.inspect_many(dark)
    assert len(heard) == 2


def test_the_window_counts_every_image_from_several_threads():
    use_case = inspector(None, DriftSettings(window=1000, min_images=5))
    images = gray_images(5)
    threads = [threading.Thread(target=lambda: [use_case.inspect_many(images) for _ in range(10)]) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert use_case.drift().seen == use_case.drift().images == 200


class Unreadable(FakeDriftReferenceStore):
    def load(self):
        raise DataError("m/drift_reference.json: scores.part_score: edges must increase")

    def carry(self, export_dir):
        self.load()


def test_an_unreadable_reference_leaves_the_inspector_and_the_export_without_one_and_says_why():
    world = UseCaseFakes(RunSpec(model_dir="m", max_steps=1))
    world.train.execute()
    pipeline = InspectionPipeline(ProbabilityMaps(world.predictor), ScipyComponents())
    use_case = InspectUseCase(world.opener(DATA).open(), pipeline, drift=DriftSettings(window=10, min_images=5),
                              references=Unreadable())
    assert len(use_case.inspect_many(gray_images(3))) == 3
    figures = use_case.drift()
    assert figures.reference is None and figures.note.startswith(
        "warning: the drift reference cannot be read (m/drift_reference.json: scores.part_score: edges must")
    from unet_defects.adapters.runtimes.catalog import EXPORT_FORMATS
    from unet_defects.application.export import ExportUseCase

    report = ExportUseCase(world.opener(DATA), world.exporter, EXPORT_FORMATS, drift=Unreadable()).execute("c")
    assert not report.drift_reference and report.path  # the export stands, without the reference
    assert report.drift_warning.startswith("warning: the export holds no drift reference (m/drift_reference.json")
