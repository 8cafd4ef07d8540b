import pytest

from tests.unit.test_use_cases import TOPOLOGY, batch
from unet_defects.adapters.fakes import FakeBenchmarker, FakeDatasetReader, FakeModelBuilder
from unet_defects.application.benchmark import BenchmarkUseCase, drawn_ahead
from unet_defects.domain.benchmark import summarize
from unet_defects.domain.data import DataSpec
from unet_defects.domain.invocation import Invocation


def test_summary_figures_from_literal_step_times():
    report = summarize(
        mode="train_benchmark", step_seconds=[1.0, 2.0, 1.0, 4.0], batch_size=8, flops_per_image=10**9,
        warmup_steps=2, precision="float32", data_format="channels_last", device="CPU",
        input_pipeline=False, peak_memory_bytes=3 * 2**20,
    )
    assert report.images_per_second == pytest.approx(32 / 8)
    assert report.step_time_median_s == pytest.approx(1.5)
    assert report.step_time_p90_s == pytest.approx(3.4)  # sorted 1,1,2,4: position 2.7 -> 2 + 0.7 * 2
    assert report.achieved_gflops == pytest.approx(4.0)
    assert report.peak_memory_mb == 3.0 and report.steps == 4
    assert set(report.as_dict()) >= {"images_per_second", "step_time_median_s", "step_time_p90_s", "batch_size",
                                     "precision", "data_format", "device", "peak_memory_mb", "flops_per_image",
                                     "achieved_gflops"}


def test_summary_refuses_an_empty_measurement():
    with pytest.raises(ValueError):
        summarize(mode="m", step_seconds=[], batch_size=1, flops_per_image=1, warmup_steps=0, precision="p",
                  data_format="f", device="d", input_pipeline=False, peak_memory_bytes=0)


@pytest.mark.parametrize("mode, batch_size, flops", [
    ("train_benchmark", 4, TOPOLOGY.training_flops()),
    ("inference_benchmark", 2, TOPOLOGY.forward_flops()),
])
def test_benchmark_use_case_runs_warmup_plus_steps_and_reports_the_mode(mode, batch_size, flops):
    data = DataSpec(dataset="external", image_shape=(8, 8, 1), train_batch_size=4, eval_batch_size=2)
    benchmarker = FakeBenchmarker()
    use_case = BenchmarkUseCase(FakeModelBuilder(), FakeDatasetReader([batch([], [])]), benchmarker, TOPOLOGY, data,
                                Invocation(mode=mode, steps=6, warmup_steps=3))
    report = use_case.execute()
    assert benchmarker.batches_seen == 9
    assert (report.mode, report.batch_size, report.steps, report.warmup_steps) == (mode, batch_size, 6, 3)
    assert report.flops_per_image == flops
    assert report.images_per_second == pytest.approx(batch_size / 0.5)
    assert report.input_pipeline is False


def test_inference_benchmark_of_an_export_calls_its_engine_once_per_step_at_the_manifest_size():
    from unet_defects.adapters.engine_timer import EngineTimer
    from unet_defects.adapters.fakes import FakeEngine, FakeEngines, FakeModel
    from unet_defects.application.options import InferenceOptions
    from unet_defects.application.session import SessionOpener
    from unet_defects.application.values import ExportManifest
    from unet_defects.domain.masks import DecisionRule

    manifest = ExportManifest(format="openvino", model_file="model.xml", step=3, input_size=(16, 24), channels=1,
                              normalization=(1.0, 0.0), threshold=0.5, precision="int8")
    engine = FakeEngine(FakeModel(TOPOLOGY))
    data = DataSpec(dataset="external", image_shape=(8, 8, 1), eval_batch_size=2)
    opener = SessionOpener(FakeModelBuilder(), None, None, FakeEngines({"line": (engine, manifest)}), TOPOLOGY, data,
                           DecisionRule())
    use_case = BenchmarkUseCase(FakeModelBuilder(), FakeDatasetReader([batch([], [])]), FakeBenchmarker(), TOPOLOGY,
                                data, Invocation(mode="inference_benchmark", steps=4, warmup_steps=1), opener,
                                EngineTimer(), InferenceOptions(engine="openvino", model="line", tta="flip"))
    report = use_case.execute()
    assert engine.batches == [(2, 16, 24, 1)] * (3 * 5)  # (warm-up + steps) x the flip copies
    assert (report.steps, report.precision, report.device) == (4, "int8", "openvino on the CPU")


def test_a_steady_pipeline_draws_two_epochs_of_batches_before_the_timed_steps():
    class Counting(FakeDatasetReader):
        drawn = 0

        def training_stream(self):
            def draws():
                while True:
                    self.drawn += 1
                    yield self._train[0]
            return draws()

    data = DataSpec(dataset="external", image_shape=(8, 8, 1), train_batch_size=4, eval_batch_size=2)
    reader = Counting([batch([], [], size=3)] * 2)  # 6 training images: 2 epochs are 3 batches of 4
    use_case = BenchmarkUseCase(FakeModelBuilder(), reader, FakeBenchmarker(), TOPOLOGY, data,
                                Invocation(mode="train_benchmark", steps=6, warmup_steps=3))
    use_case.execute()
    assert reader.drawn == 9
    reader.drawn = 0
    use_case.execute(steady_pipeline=True)
    assert reader.drawn == 3 + 9
    assert next(drawn_ahead(iter(range(100)), 50, seconds=-1.0)) == 0  # out of time: nothing drawn ahead
