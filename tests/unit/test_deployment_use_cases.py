"""Calibrate, and predict / evaluate / export with a calibration, TTA and exports, on fakes."""

import numpy as np
import pytest

from tests.unit.test_use_cases import TOPOLOGY, UseCaseFakes, batch
from unet_defects.adapters.fakes import FakeDatasetReader, FakeEngine, FakeImageSource, FakeModel
from unet_defects.adapters.runtimes.catalog import EXPORT_FORMATS, INT8_FORMATS
from unet_defects.application.calibrate import CalibrateUseCase
from unet_defects.application.export import ExportUseCase
from unet_defects.application.options import InferenceOptions
from unet_defects.application.session import SessionOpener
from unet_defects.application.values import ExportManifest
from unet_defects.domain.calibration import Calibration
from unet_defects.domain.data import DataSpec
from unet_defects.domain.decision import Decision
from unet_defects.domain.errors import ConfigError
from unet_defects.domain.experiment import EvalSpec
from unet_defects.domain.training import RunSpec

DATA = DataSpec(dataset="DAGM2007Dataset", dataset_path="d", image_shape=(8, 8, 1), normalize_data_method="zero_one")
BLOCK = [(y, x) for y in range(2, 5) for x in range(2, 5)]


def noisy_world() -> UseCaseFakes:
    """Truth: a 3x3 block; the fake model finds it and one lone false pixel at (7, 7)."""
    world = UseCaseFakes(RunSpec(model_dir="m", max_steps=1))
    world.reader = FakeDatasetReader([batch(BLOCK + [(7, 7)], BLOCK, size=2)])
    world.evaluate = world.evaluate_with(full=True)  # reads the new reader
    world.train.execute()
    return world


def calibrate(world: UseCaseFakes, **options):
    use_case = CalibrateUseCase(world.opener(DATA), world.reader, world.evaluator, world.components,
                                world.calibration, EvalSpec(), world.run)
    return use_case.execute(**options)


def test_calibrate_removes_the_lone_false_pixel_and_never_scores_below_the_plain_rule():
    world = noisy_world()
    report = calibrate(world)
    assert report.num_images == 2
    assert report.found.baseline.defect_Dice == pytest.approx(18 / 19)
    chosen = world.calibration.calibration
    assert (chosen.decision.threshold, chosen.decision.min_area, chosen.decision.area_at) == (0.5, 4, (8, 8))
    assert chosen.after.defect_Dice == 1.0 >= chosen.before.defect_Dice
    # every candidate is written down: 19 thresholds, the areas 0, 4 and 8 (none past the 9-pixel true defects)
    assert len(world.calibration.tables[0]) == 19 * 3


def test_evaluation_uses_the_calibration_and_says_so_with_image_auroc():
    world = noisy_world()
    plain = world.evaluate.execute()
    assert plain.scores.defect_Dice == pytest.approx(18 / 19)
    assert plain.scores.image_AUROC is None  # every image is defective
    world.calibration.calibration = Calibration(Decision(0.5, 4))
    calibrated = world.evaluate.execute()
    assert calibrated.scores.defect_Dice == 1.0
    assert "min_area 4 from model_dir/calibration.json" in calibrated.decision
    assert calibrated.as_dict()["image_AUROC_score"] == "max_probability"


def test_image_auroc_ranks_defective_images_by_their_peak():
    world = UseCaseFakes(RunSpec(model_dir="m", max_steps=1))
    defective = batch([(0, 0)], [(0, 0)], size=1)
    good = (np.full((1, 8, 8, 1), 0.2, np.float32), np.zeros((1, 8, 8, 1), np.float32))
    world.evaluate = world.evaluate_with(FakeDatasetReader([defective], [defective, good]), full=True)
    world.train.execute()
    assert world.evaluate.execute().scores.image_AUROC == 1.0


def test_predict_applies_the_calibration_and_flags_override_it():
    world = noisy_world()
    world.calibration.calibration = Calibration(Decision(0.5, 4, (8, 8)))
    image = np.zeros((8, 8), np.uint8)
    for y, x in BLOCK + [(7, 7)]:
        image[y, x] = 255
    predict = world.predict(FakeImageSource({"in/a.png": image}), DATA)
    report = predict.execute(["in/"], "out")
    assert world.artifacts.predictions["in/a.png"].sum() == 9
    assert report.decision == "threshold 0.5, min_area 4 from model_dir/calibration.json"
    predict.execute(["in/"], "out", InferenceOptions(min_area=0))
    assert world.artifacts.predictions["in/a.png"].sum() == 10


def test_predict_runs_an_export_with_its_manifest_and_refuses_tta_twice():
    world = noisy_world()
    manifest = ExportManifest(format="onnx", model_file="model.onnx", step=7, input_size=(8, 8), channels=1,
                              normalization=(1 / 255, 0.0), threshold=0.5, min_area=2, tta="flip",
                              stride=TOPOLOGY.stride)
    engine = FakeEngine(FakeModel(TOPOLOGY))
    world.engines.exports["exp"] = (engine, manifest)
    image = np.zeros((8, 8), np.uint8)
    image[0, 0] = image[4, 4] = image[4, 5] = 255
    predict = world.predict(FakeImageSource({"in/a.png": image}), DATA)
    report = predict.execute(["in/"], "out", InferenceOptions(engine="onnxruntime", model="exp"))
    assert report.step == 7 and "exp (onnxruntime, onnx, float32, step 7)" in report.source
    assert world.artifacts.predictions["in/a.png"].sum() == 2  # the lone pixel is below min_area 2
    assert report.tta == "flip" and engine.batches
    with pytest.raises(ConfigError, match="tta flip built in"):
        predict.execute(["in/"], "out", InferenceOptions(engine="onnxruntime", model="exp", tta="d4"))
    with pytest.raises(ConfigError, match="needs --model"):
        predict.execute(["in/"], "out", InferenceOptions(engine="openvino"))


def test_predict_with_tta_runs_each_transform_through_the_engine():
    world = noisy_world()
    predict = world.predict(FakeImageSource({"in/a.png": np.zeros((8, 8), np.uint8)}), DATA)
    predict.execute(["in/"], "out", InferenceOptions(tta="d4"))
    assert len(world.engines.made[-1].batches) == 8


def quantizing_export(world: UseCaseFakes, data: DataSpec, int8_formats=INT8_FORMATS) -> ExportUseCase:
    """UseCaseFakes.export with the catalog's INT8 formats injected, as the container does."""
    return ExportUseCase(world.opener(data), world.exporter, EXPORT_FORMATS, world.reader, int8_formats=int8_formats)


def test_export_carries_the_calibration_and_checks_int8_and_tta():
    world = noisy_world()
    world.calibration.calibration = Calibration(Decision(0.4, 6, (8, 8)))
    report = quantizing_export(world, DATA).execute("out", InferenceOptions(tta="flip"), format="openvino", int8=True)
    request = world.exporter.exports["out"]
    (decision,) = request.decisions
    assert (decision.threshold, decision.min_area, decision.area_at, request.tta) == (0.4, 6, (8, 8), "flip")
    assert request.format == "openvino" and request.int8 and request.calibration_stream is not None
    assert "calibration.json" in report.decision
    with pytest.raises(ConfigError, match="--int8: needs --format onnx, openvino, tflite"):
        quantizing_export(world, DATA).execute("out", int8=True)
    with pytest.raises(ConfigError, match="--int8: no format quantizes here"):
        quantizing_export(world, DATA, None).execute("out", format="onnx", int8=True)
    with pytest.raises(ConfigError, match="--format"):
        world.export(DATA).execute("out", format="caffe")
    wide = DataSpec(dataset="DAGM2007Dataset", dataset_path="d", image_shape=(8, 16, 1))
    with pytest.raises(ConfigError, match="square"):
        world.export(wide).execute("out", InferenceOptions(tta="d4"))
    # Without --tta the export builds in the model's own (model.inference_tta), so it answers as the model_dir.
    own = SessionOpener(world.builder, world.checkpoints, world.best, world.engines, TOPOLOGY, DATA, EvalSpec().rule,
                        world.calibration, tta="flip")
    ExportUseCase(own, world.exporter, EXPORT_FORMATS, world.reader).execute("own")
    assert world.exporter.exports["own"].tta == "flip"
    ExportUseCase(own, world.exporter, EXPORT_FORMATS, world.reader).execute("plain", InferenceOptions(tta="none"))
    assert world.exporter.exports["plain"].tta == "none"


def test_evaluation_counts_defects_found_and_false_alarms_before_and_after_min_area():
    world = noisy_world()
    plain = world.evaluate.execute().as_dict()
    # Two images, each: one true 3x3 block (found) and a lone false pixel at (7, 7).
    assert (plain["defect_recall"], plain["defect_precision"]) == (1.0, 0.5)
    assert (plain["defect_recall_small"], plain["defect_recall_medium"], plain["defect_recall_large"]) == \
        (1.0, None, None)
    assert plain["defect_sizes"].startswith("small < 1024 px")
    world.calibration.calibration = Calibration(Decision(0.5, 4))
    assert world.evaluate.execute().as_dict()["defect_precision"] == 1.0
