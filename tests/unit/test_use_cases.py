"""The use cases with TF-free fakes: end state, not calls."""

import attrs
import numpy as np
import pytest

from unet_defects.adapters.components import ScipyComponents
from unet_defects.adapters.fakes import (
    FakeBestKeeper,
    FakeCalibrationStore,
    FakeCheckpoints,
    FakeConfigStore,
    FakeDatasetReader,
    FakeEngines,
    FakeEvaluator,
    FakeExporter,
    FakeImageSource,
    FakeModelBuilder,
    FakePredictor,
    FakeTrainer,
    InMemoryArtifactStore,
    RecordingObserver,
)
from unet_defects.application.batching import ProbabilityMaps
from unet_defects.application.evaluation import EvaluateAllUseCase, EvaluateUseCase
from unet_defects.application.evaluation_scoring import EvaluationScoring
from unet_defects.application.inspector import InspectionPipeline, InspectUseCase
from unet_defects.application.options import InferenceOptions
from unet_defects.application.prediction import PredictUseCase
from unet_defects.application.session import SessionOpener
from unet_defects.application.training import TrainAndEvaluateUseCase, TrainUseCase
from unet_defects.configs.loader import build_experiment
from unet_defects.domain.data import DataSpec
from unet_defects.domain.errors import CheckpointError, DataError
from unet_defects.domain.experiment import EvalSpec
from unet_defects.domain.invocation import Invocation
from unet_defects.domain.topology import UNetSpec
from unet_defects.domain.training import RunSpec

TOPOLOGY = UNetSpec(image_shape=(8, 8, 1), encoder_filters=(2, 4), decoder_filters=(2,))
WORLD_DATA = DataSpec(dataset="external", image_shape=(8, 8, 1))


def batch(bright_pixels: list[tuple[int, int]], defects: list[tuple[int, int]], size: int = 2):
    images = np.zeros((size, 8, 8, 1), np.float32)
    masks = np.zeros((size, 8, 8, 1), np.float32)
    for y, x in bright_pixels:
        images[:, y, x, 0] = 1.0
    for y, x in defects:
        masks[:, y, x, 0] = 1.0
    return images, masks


def experiment_for(run: RunSpec, **sections):
    """An ExperimentSpec of the fake world's topology and the given run."""
    model = {"encoder_filters": [2, 4], "decoder_filters": [2], **sections.pop("model", {})}
    params = {"train_input": {"dataset": "external", "image_shape": [8, 8, 1]}, "model": model,
              "runconfig": {"model_dir": run.model_dir}, **sections}
    return attrs.evolve(build_experiment(params), run=run)


class UseCaseFakes:
    def __init__(self, run: RunSpec, evaluation: EvalSpec = EvalSpec(), invocation: Invocation = Invocation()):
        self.run = run
        self.builder = FakeModelBuilder()
        self.reader = FakeDatasetReader([batch([(0, 0)], [(0, 0)])])
        self.checkpoints = FakeCheckpoints()
        self.best = FakeBestKeeper()
        self.trainer = FakeTrainer(run, self.checkpoints)
        self.observer = RecordingObserver()
        self.artifacts = InMemoryArtifactStore()
        self.config_store = FakeConfigStore()
        self.predictor = FakePredictor()
        self.evaluator = FakeEvaluator()
        self.exporter = FakeExporter()
        self.engines = FakeEngines()
        self.components = ScipyComponents()
        self.calibration = FakeCalibrationStore()
        self.experiment = experiment_for(run)
        self.train = self.train_with(invocation)
        self.evaluate = self.evaluate_with(evaluation=evaluation, invocation=invocation, full=True)

    def opener(self, data: DataSpec = WORLD_DATA, calibrated: bool = True, topology: UNetSpec = TOPOLOGY
               ) -> SessionOpener:
        return SessionOpener(self.builder, self.checkpoints, self.best, self.engines, topology, data,
                             EvalSpec().rule, self.calibration if calibrated else None)

    def evaluate_with(self, reader=None, evaluation: EvalSpec = EvalSpec(), run: RunSpec | None = None,
                      evaluator=None, invocation: Invocation = Invocation(), full: bool = False,
                      **options) -> EvaluateUseCase:
        """Evaluation of this world; `full`: with its calibration and components (defect scores)."""
        components = self.components if full else None
        scoring = EvaluationScoring(reader or self.reader, evaluator or self.evaluator, evaluation, run or self.run,
                                    components, options.get("options", InferenceOptions()))
        return EvaluateUseCase(self.opener(calibrated=full), scoring, self.checkpoints, self.artifacts, evaluation,
                               run or self.run, invocation, self.best, components=components, **options)

    def train_with(self, invocation: Invocation) -> TrainUseCase:
        return TrainUseCase(self.builder, self.reader, self.checkpoints, self.trainer, self.observer,
                            self.config_store, self.experiment, invocation)

    def predict(self, images, data, batch_size: int = 8, topology: UNetSpec = TOPOLOGY) -> PredictUseCase:
        pipeline = InspectionPipeline(ProbabilityMaps(self.predictor, batch_size), self.components)
        return PredictUseCase(self.opener(data, topology=topology), pipeline, images, self.artifacts, data)

    def export(self, data):
        from unet_defects.adapters.runtimes.catalog import EXPORT_FORMATS, INT8_FORMATS
        from unet_defects.application.export import ExportUseCase

        return ExportUseCase(self.opener(data), self.exporter, EXPORT_FORMATS, self.reader, int8_formats=INT8_FORMATS)


def test_train_reaches_max_steps_and_keeps_the_newest_checkpoints():
    world = UseCaseFakes(RunSpec(model_dir="m", max_steps=25, save_checkpoints_steps=10, keep_checkpoint_max=2,
                          log_step_count_steps=5))
    outcome = world.train.execute()
    assert (outcome.start_step, outcome.final_step) == (0, 25)
    assert sorted(world.checkpoints.saved) == [20, 25]
    assert world.trainer.batches_seen == 25
    logged = [e[1] for e in world.observer.of_kind("progressed") if e[2]]
    assert logged == [5, 10, 15, 20, 25]


def test_train_resumes_and_does_nothing_at_max_steps():
    world = UseCaseFakes(RunSpec(model_dir="m", max_steps=10, save_checkpoints_steps=5))
    world.train.execute()
    again = world.train.execute()
    assert again.steps_run == 0 and world.trainer.batches_seen == 10
    assert any("nothing to train" in event[1] for event in world.observer.of_kind("message"))
    more = world.train_with(Invocation(steps=4)).execute()
    assert (more.start_step, more.final_step) == (10, 14)


def test_evaluate_scores_the_restored_model_and_stores_the_result():
    world = UseCaseFakes(RunSpec(model_dir="m", max_steps=3))
    world.reader = FakeDatasetReader(
        [batch([(0, 0)], [(0, 0)])],
        eval_batches=[batch([(0, 0), (0, 1)], [(0, 0)], size=3), batch([], [], size=1)],
    )
    world.evaluate = world.evaluate_with()
    with pytest.raises(CheckpointError, match="no checkpoint"):
        world.evaluate.execute()
    world.train.execute()
    result = world.evaluate.execute()
    assert result.step == 3 and result.num_images == 4
    # 3 images with tp=1, fp=1, tn=62; one empty/empty image.
    assert result.scores.defect_IoU == pytest.approx(3 / 6)
    assert result.scores.defect_Dice == pytest.approx(6 / 9)
    assert result.scores.per_image_Dice == pytest.approx((3 * (2 / 3) + 1.0) / 4)
    assert result.as_dict()["global_step"] == 3 and result.as_dict()["num_images"] == 4
    assert [r.step for r in world.artifacts.evaluations] == [3]
    assert len(result.samples) == 3


def test_eval_steps_limits_batches_and_ignore_classes_drop_pixels():
    run = RunSpec(model_dir="m", max_steps=1, eval_steps=1)
    world = UseCaseFakes(run, EvalSpec(eval_ignore_classes=[1]))
    world.train.execute()
    result = world.evaluate.execute()
    assert result.num_images == 2
    assert result.scores.defect_IoU == 1.0  # defect pixels are ignored, nothing else predicted


def test_train_and_eval_evaluates_after_each_checkpoint_and_eval_all_in_step_order():
    world = UseCaseFakes(RunSpec(model_dir="m", max_steps=12, save_checkpoints_steps=5, keep_checkpoint_max=5))
    done = TrainAndEvaluateUseCase(world.train, world.evaluate, world.checkpoints).execute()
    outcome, results = done.training, done.evaluations
    assert outcome.final_step == 12
    assert [r.step for r in results] == [5, 10, 12]
    all_results = EvaluateAllUseCase(world.evaluate, world.checkpoints).execute()
    assert [r.step for r in all_results] == [5, 10, 12]


def test_predict_writes_every_readable_image_and_lists_failures():
    run = RunSpec(model_dir="m", max_steps=1)
    world = UseCaseFakes(run)
    world.train.execute()
    bright = np.zeros((5, 7), np.uint8)
    bright[1, 2] = 255
    images = FakeImageSource({"in/a.png": bright, "in/b.png": None, "in/c.png": np.zeros((3, 3), np.uint8)})
    data = DataSpec(dataset="DAGM2007Dataset", dataset_path="d", image_shape=(8, 8, 1),
                    normalize_data_method="zero_one")
    predict = world.predict(images, data, batch_size=2)
    seen = []
    report = predict.execute(["in/"], "out", progress=lambda done, total: seen.append((done, total)))
    assert report.images_done == 2 and len(report.failures) == 1 and "in/b.png" in report.failures[0]
    assert world.artifacts.predictions["in/a.png"].shape == (5, 7)
    assert world.artifacts.predictions["in/a.png"].sum() == 1 and world.artifacts.predictions["in/a.png"][1, 2]
    assert seen[-1] == (3, 3)
    with pytest.raises(DataError, match="no image files"):
        predict.execute(["elsewhere/"], "out")


def test_predict_feeds_gray_images_to_every_model_channel():
    world = UseCaseFakes(RunSpec(model_dir="m", max_steps=1))
    world.train.execute()
    shapes = []
    original = world.predictor.predict

    def recording(model, images, size):
        shapes.extend(image.shape for image in images)
        return original(model, images, size)

    world.predictor.predict = recording
    data = DataSpec(dataset="DAGM2007Dataset", dataset_path="d", image_shape=(8, 8, 3))
    predict = world.predict(FakeImageSource({"a.png": np.zeros((4, 6), np.uint8)}), data)
    predict.execute(["a"], "out")
    assert shapes == [(4, 6, 3)]


def test_the_inspect_use_case_gives_what_predict_writes_and_checks_each_array():
    """The Inspector's use case and predict run one pipeline: the same mask for the same image."""
    world = UseCaseFakes(RunSpec(model_dir="m", max_steps=1))
    world.train.execute()
    bright = np.zeros((5, 7), np.uint8)
    bright[1, 2] = 255
    data = DataSpec(dataset="DAGM2007Dataset", dataset_path="d", image_shape=(8, 8, 1), normalize_data_method="zero_one")
    world.predict(FakeImageSource({"a.png": bright}), data).execute(["a"], "out")
    session = world.opener(data).open()
    inspector = InspectUseCase(session, InspectionPipeline(ProbabilityMaps(world.predictor), world.components),
                               max_pixels=100)
    rgb = np.repeat(bright[..., None], 3, axis=2).astype(np.uint16) * 257  # 16-bit RGB of the same gray
    first, second = inspector.inspect_many([bright, rgb])
    np.testing.assert_array_equal(first.mask, world.artifacts.predictions["a.png"])
    np.testing.assert_array_equal(second.mask, first.mask)
    assert first.defective and first.score == pytest.approx(float(first.probabilities.max()))
    with pytest.raises(ValueError, match=r"image 1: 11 x 10 = 110 pixels, more than the inspector's limit of 100"):
        inspector.inspect_many([bright, np.zeros((11, 10), np.uint8)])
    with pytest.raises(ValueError, match="image: dtype float32 is not an image's"):
        inspector.inspect(np.zeros((4, 4), np.float32))


def test_scores_are_also_reported_at_each_configured_threshold():
    run = RunSpec(model_dir="m", max_steps=1)
    world = UseCaseFakes(run, EvalSpec(eval_thresholds=[0.4, 0.9]))
    world.train.execute()
    result = world.evaluate.execute()
    # The fake model's probability is 0.62 on a bright pixel and 0.38 on a dark one.
    (low, at_low), (high, at_high) = result.threshold_scores
    assert (low, high) == (0.4, 0.9)
    assert at_low.defect_Dice == result.scores.defect_Dice == 1.0
    assert at_high.defect_Dice == 0.0 and at_high.per_image_Dice == 0.0
    assert set(result.as_dict()["thresholds"]) == {"0.4", "0.9"}


def test_predict_writes_a_submission_row_per_image_that_round_trips():
    from unet_defects.application.prediction import Submission
    from unet_defects.domain import rle

    world = UseCaseFakes(RunSpec(model_dir="m", max_steps=1))
    world.train.execute()
    one = np.zeros((6, 5), np.uint8)
    one[1:3, 2] = 255
    small = np.zeros((6, 5), np.uint8)
    small[4, 4] = 255
    images = FakeImageSource({"in/one.jpg": one, "in/small.jpg": small, "in/empty.jpg": np.zeros((6, 5), np.uint8)})
    data = DataSpec(dataset="DAGM2007Dataset", dataset_path="d", image_shape=(8, 8, 1), normalize_data_method="zero_one")
    predict = world.predict(images, data)
    report = predict.execute(["in/"], "out", save_probabilities=True,
                             submission=Submission("out/sub.csv", class_id=3, min_total_area=2))
    rows = world.artifacts.submissions["out/sub.csv"]
    assert [(name, class_id) for name, class_id, _ in rows] == [("one.jpg", 3), ("small.jpg", 3), ("empty.jpg", 3)]
    np.testing.assert_array_equal(rle.decode(rows[0][2], (6, 5)), one > 0)
    assert rows[1][2] == "" and rows[2][2] == ""  # below min_area, and nothing predicted
    assert report.images_done == 3 and "out/sub.csv" in report.written
    assert sum(path.endswith("_probability.png") for path in report.written) == 3


def test_export_restores_the_latest_checkpoint_and_stores_the_rule():
    world = UseCaseFakes(RunSpec(model_dir="m", max_steps=3))
    world.train.execute()
    data = DataSpec(dataset="DAGM2007Dataset", dataset_path="d", image_shape=(8, 8, 1), normalize_data_method="zero_one")
    report = world.export(data).execute("out", InferenceOptions(threshold=0.7))
    assert (report.step, report.threshold) == (3, pytest.approx(0.7))
    request = world.exporter.exports["out"]
    assert (request.input_size, request.normalization, request.step, request.native_stride) == \
        ((8, 8), (1 / 255, 0.0), 3, None)
    assert request.thresholds == pytest.approx((0.7,))
    world.export(data).execute("native", InferenceOptions(geometry="native"))
    assert world.exporter.exports["native"].native_stride == TOPOLOGY.stride


def test_native_geometry_tiles_large_images_batches_tiles_across_images_and_stitches_back():
    world = UseCaseFakes(RunSpec(model_dir="m", max_steps=1))
    world.train.execute()
    rng = np.random.default_rng(3)
    wide = (rng.random((20, 70)) > 0.5).astype(np.uint8) * 255
    small = (rng.random((9, 13)) > 0.5).astype(np.uint8) * 255
    images = FakeImageSource({"in/wide.png": wide, "in/bad.png": None, "in/small.png": small})
    data = DataSpec(dataset="DAGM2007Dataset", dataset_path="d", image_shape=(16, 32, 1),
                    normalize_data_method="zero_one")
    deeper = UNetSpec(image_shape=(16, 32, 1), encoder_filters=(2, 4, 8), decoder_filters=(4, 2))
    assert deeper.stride == 4
    predict = world.predict(images, data, batch_size=4, topology=deeper)
    report = predict.execute(["in/"], "out", InferenceOptions(geometry="native", tile=(16, 32), overlap=8))
    assert report.images_done == 2 and len(report.failures) == 1
    # The fake model is pixel-wise, so blended tiles must equal the untiled answer exactly.
    for name, image in (("in/wide.png", wide), ("in/small.png", small)):
        np.testing.assert_array_equal(world.artifacts.predictions[name], image > 127)
    # wide: padded to 20x72 -> 2 rows x 3 columns of 16x32 tiles; small: one 12x16 tile.
    assert sorted(world.predictor.tile_batches) == [(1, 12, 16, 1), (2, 16, 32, 1), (4, 16, 32, 1)]


def test_prediction_and_export_default_to_the_training_geometry():
    world = UseCaseFakes(RunSpec(model_dir="m", max_steps=1))
    world.train.execute()
    for fit, mode in (("resize", "resize"), ("crop", "native")):
        data = DataSpec(dataset="DAGM2007Dataset", dataset_path="d", image_shape=(8, 8, 1), image_fit=fit)
        assert world.opener(data).open().geometry(InferenceOptions()).mode == mode
        world.export(data).execute(fit)
        assert (world.exporter.exports[fit].native_stride is not None) == (mode == "native")
