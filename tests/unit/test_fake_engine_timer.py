"""`unet benchmark` of an engine (an export, or the configured model with TTA) through the
EngineTimer port, with its fake: the figures come from the timer's step times, exactly."""

import pytest

from tests.unit.test_use_cases import TOPOLOGY, batch
from unet_defects.adapters.fakes import (
    FakeBenchmarker,
    FakeDatasetReader,
    FakeEngine,
    FakeEngines,
    FakeEngineTimer,
    FakeModel,
    FakeModelBuilder,
)
from unet_defects.application.benchmark import BenchmarkUseCase
from unet_defects.application.options import InferenceOptions
from unet_defects.application.session import SessionOpener
from unet_defects.application.values import ExportManifest
from unet_defects.domain.data import DataSpec
from unet_defects.domain.invocation import Invocation
from unet_defects.domain.masks import DecisionRule

DATA = DataSpec(dataset="external", image_shape=(8, 8, 1), eval_batch_size=2)
MANIFEST = ExportManifest(format="onnx", model_file="model.onnx", step=3, input_size=(16, 24), channels=1,
                          normalization=(1.0, 0.0), threshold=0.5, precision="int8")


def benchmark(options: InferenceOptions, timer: FakeEngineTimer | None, engines: FakeEngines,
              builder: FakeModelBuilder | None = None) -> BenchmarkUseCase:
    builder = builder or FakeModelBuilder()
    opener = SessionOpener(builder, None, None, engines, TOPOLOGY, DATA, DecisionRule())
    benchmarker = FakeBenchmarker()
    return BenchmarkUseCase(builder, FakeDatasetReader([batch([], [])]), benchmarker, TOPOLOGY, DATA,
                            Invocation(mode="inference_benchmark", steps=5, warmup_steps=2), opener, timer, options)


def test_an_export_is_timed_by_the_engine_timer_at_its_manifest_size():
    engine = FakeEngine(FakeModel(TOPOLOGY))
    timer = FakeEngineTimer(step_seconds=0.25, warmup_seconds=3.0)
    use_case = benchmark(InferenceOptions(engine="onnxruntime", model="exports/line"), timer,
                         FakeEngines({"exports/line": (engine, MANIFEST)}))
    report = use_case.execute()
    assert timer.timed == [("onnxruntime", (2, 16, 24, 1), 5, 2, "int8")]
    assert engine.batches == [(2, 16, 24, 1)] * 7  # warm-up + steps, no TTA
    assert (report.mode, report.steps, report.warmup_steps, report.batch_size) == ("inference_benchmark", 5, 2, 2)
    assert report.images_per_second == pytest.approx(2 / 0.25)
    assert (report.precision, report.device) == ("int8", "onnxruntime on a fake clock")
    assert report.flops_per_image == TOPOLOGY.forward_flops() and report.input_pipeline is False


def test_the_configured_model_with_tta_is_timed_through_its_engine_not_the_benchmarker():
    engines = FakeEngines()
    timer = FakeEngineTimer(step_seconds=0.5)
    builder = FakeModelBuilder()
    report = benchmark(InferenceOptions(tta="flip"), timer, engines, builder).execute()
    (engine,) = engines.made
    assert engine.model is builder.built[0]  # fresh weights: nothing restored
    assert engine.batches == [(2, 8, 8, 1)] * (7 * 3)  # (warm-up + steps) x the flip copies
    assert timer.timed == [("tensorflow", (2, 8, 8, 1), 5, 2, "float32")]
    assert report.images_per_second == pytest.approx(2 / 0.5)


def test_an_engine_benchmark_without_a_timer_says_what_is_missing():
    with pytest.raises(ValueError, match="session opener and timer"):
        benchmark(InferenceOptions(engine="onnxruntime", model="exports/line"), None, FakeEngines()).execute()
