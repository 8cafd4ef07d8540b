"""The inference session on fakes: which checkpoint, which decision, export over checkpoint,
TTA refused twice, and an export checked against what the config feeds it."""

import pytest

from tests.unit.test_use_cases import TOPOLOGY
from unet_defects.adapters.fakes import (
    FakeBestKeeper,
    FakeCalibrationStore,
    FakeCheckpoints,
    FakeEngine,
    FakeEngines,
    FakeModel,
    FakeModelBuilder,
)
from unet_defects.application.inference import AveragedEngine
from unet_defects.application.options import InferenceOptions
from unet_defects.application.session import BEST_KEPT, NEWEST, SessionOpener
from unet_defects.application.values import CheckpointRef, ExportManifest
from unet_defects.domain.calibration import Calibration
from unet_defects.domain.data import DataSpec
from unet_defects.domain.decision import Decision
from unet_defects.domain.errors import ConfigError
from unet_defects.domain.masks import DecisionRule

DATA = DataSpec(dataset="external", image_shape=(8, 8, 1), normalize_data_method="zero_one")


def opener(calibration=None, exports=None) -> SessionOpener:
    checkpoints = FakeCheckpoints()
    checkpoints.saved = {3: 3, 6: 6, 9: 9}
    best = FakeBestKeeper()
    best.keep(CheckpointRef(6, "memory://ckpt-6"), "defect_Dice", 0.9)
    return SessionOpener(FakeModelBuilder(), checkpoints, best, FakeEngines(exports), TOPOLOGY, DATA,
                         DecisionRule(threshold=0.5), FakeCalibrationStore(calibration))


def manifest(**fields) -> ExportManifest:
    values = dict(format="onnx", model_file="model.onnx", step=7, input_size=(8, 8), channels=1,
                  normalization=(1 / 255, 0.0), threshold=0.3, min_area=5, stride=TOPOLOGY.stride)
    return ExportManifest(**{**values, **fields})


def test_each_command_keeps_its_checkpoint_choice_and_a_named_one_wins():
    sessions = opener()
    assert sessions.open(choose=BEST_KEPT).step == 6
    assert sessions.open(choose=NEWEST).step == 9
    assert sessions.open(InferenceOptions(checkpoint="memory://ckpt-3"), NEWEST).step == 3
    named = sessions.open(InferenceOptions(checkpoint="memory://ckpt-3"), BEST_KEPT, checkpoint="memory://ckpt-9")
    assert (named.step, named.source, named.path) == (9, "checkpoint memory://ckpt-9", "memory://ckpt-9")
    assert sessions.open(choose=BEST_KEPT).source == "the best checkpoint, step 6 (defect_Dice 0.9000)"


def test_flags_over_calibration_over_config():
    assert opener().open().decision.describe() == "threshold 0.5 from the config"
    calibrated = opener(Calibration(Decision(0.4, 6, (8, 8))))
    decision = calibrated.open().decision
    assert (decision.threshold, decision.min_area, decision.origin) == (0.4, 6, "model_dir/calibration.json")
    flagged = calibrated.open(InferenceOptions(threshold=0.7)).decision
    assert (flagged.threshold, flagged.min_area, flagged.area_at) == (0.7, 6, (8, 8))
    assert flagged.origin == "the flags and model_dir/calibration.json"
    both = calibrated.open(InferenceOptions(threshold=0.7, min_area=0)).decision
    assert (both.min_area, both.area_at, both.origin) == (0, None, "the flags")


def test_an_export_wins_over_the_checkpoint_with_its_manifest_and_tta_is_refused_twice():
    engine = FakeEngine(FakeModel(TOPOLOGY))
    sessions = opener(Calibration(Decision(0.4, 2)), {"line": (engine, manifest(tta="flip"))})
    session = sessions.open(InferenceOptions(engine="onnxruntime", model="line"))
    assert session.is_export and session.engine is engine and session.step == 7
    assert (session.decision.threshold, session.decision.min_area) == (0.3, 5)
    assert session.decision.origin == "line/unet_export.json"
    assert (session.tta, session.tta_built_in) == ("flip", True)
    assert session.source == "the export line (onnxruntime, onnx, float32, step 7)"
    with pytest.raises(ConfigError, match="has tta flip built in; drop --tta"):
        sessions.open(InferenceOptions(engine="onnxruntime", model="line", tta="d4"))
    around = opener().open(InferenceOptions(tta="flip"))
    assert isinstance(around.engine, AveragedEngine) and around.tta == "flip" and not around.tta_built_in


def test_an_export_must_take_the_configs_images_unless_its_manifest_is_all_there_is():
    engine = FakeEngine(FakeModel(TOPOLOGY))
    exports = {"other": (engine, manifest(normalization=(1.0, 0.0))), "rgb": (engine, manifest(channels=3))}
    sessions = opener(exports=exports)
    with pytest.raises(ConfigError, match=r"other/unet_export.json: normalization \(1.0, 0.0\) differs"):
        sessions.open(InferenceOptions(engine="onnxruntime", model="other"))
    with pytest.raises(ConfigError, match="rgb/unet_export.json: the network takes 3 channels"):
        sessions.open(InferenceOptions(engine="onnxruntime", model="rgb"))
    alone = sessions.open(InferenceOptions(engine="onnxruntime", model="rgb"), check_input=False)
    assert alone.channels == 3 and alone.normalization == (1 / 255, 0.0)


def test_fresh_weights_need_no_checkpoint_and_bad_options_fail_before_any_work():
    session = SessionOpener(FakeModelBuilder(), FakeCheckpoints(), None, FakeEngines(), TOPOLOGY, DATA,
                            DecisionRule()).fresh()
    assert (session.step, session.source, session.size) == (0, "fresh weights (no checkpoint)", (8, 8))
    for options, message in (({"engine": "openvino"}, "needs --model"), ({"tta": "spin"}, "unknown mode"),
                             ({"geometry": "squash"}, "unknown 'squash'"), ({"threshold": 1.5}, r"in \(0, 1\)")):
        with pytest.raises(ConfigError, match=message):
            InferenceOptions(**options)


def test_the_models_own_tta_runs_unless_a_flag_says_otherwise_and_an_export_keeps_its_built_in_one():
    def with_own(tta, exports=None):
        checkpoints = FakeCheckpoints()
        checkpoints.saved = {3: 3}
        return SessionOpener(FakeModelBuilder(), checkpoints, FakeBestKeeper(), FakeEngines(exports), TOPOLOGY, DATA,
                             DecisionRule(threshold=0.5), FakeCalibrationStore(None), tta=tta)

    own = with_own("flip").open()
    assert own.tta == "flip" and isinstance(own.engine, AveragedEngine)
    assert with_own("flip").open(InferenceOptions(tta="none")).tta == "none"  # the flag wins
    assert with_own("flip").tta_for(InferenceOptions()) == "flip" and with_own("none").tta_for(
        InferenceOptions(tta="flip")) == "flip"
    exports = {"line": (FakeEngine(FakeModel(TOPOLOGY)), manifest(tta="flip"))}
    built_in = with_own("flip", exports).open(InferenceOptions(engine="onnxruntime", model="line"))
    assert (built_in.tta, built_in.tta_built_in) == ("flip", True) and not isinstance(built_in.engine, AveragedEngine)
    plain = {"line": (FakeEngine(FakeModel(TOPOLOGY)), manifest())}
    assert with_own("flip", plain).open(InferenceOptions(engine="onnxruntime", model="line")).tta == "none"
