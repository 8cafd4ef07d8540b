"""Tracking a run, with a fake tracker: the configuration as flat parameters, the scores by
split, the run's files and its end, and the MLflow adapter's rules that need no MLflow."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.unit.test_info import facts
from tests.unit.test_use_cases import UseCaseFakes, batch
from unet_defects.adapters import mlflow_store, mlflow_tracking
from unet_defects.adapters.fakes import FakeDatasetReader, FakeMachineProbe, FakeRunTracker
from unet_defects.application.evaluation import FinalEvaluationUseCase
from unet_defects.application.tracking import NO_TRACKING, TrackedRun
from unet_defects.application.training import TrainAndEvaluateUseCase
from unet_defects.domain.errors import TrainingInterrupted, UnetError
from unet_defects.domain.tracking_names import (
    MAX_PARAM_LENGTH,
    flatten,
    param_changes,
    param_text,
    run_params,
    score_metrics,
)
from unet_defects.domain.training import RunSpec

ROOT = Path(__file__).resolve().parents[2]


def test_sections_flatten_to_dotted_keys_and_a_schedules_segments_are_numbered():
    resolved = {"train_input": {"train_batch_size": 4, "image_shape": [32, 32, 1], "seed": None},
                "optimizer": {"learning_rate": [{"scheduler": "Constant", "steps": 10, "learning_rate": 0.1},
                                                {"scheduler": "Cosine", "initial_learning_rate": 0.1}]},
                "plan": {"fingerprint": {"images": 12, "sizes": {"32x32": 12}}, "advice": []}}
    assert flatten(resolved) == {
        "train_input.train_batch_size": 4, "train_input.image_shape": [32, 32, 1], "train_input.seed": None,
        "optimizer.learning_rate.0.scheduler": "Constant", "optimizer.learning_rate.0.steps": 10,
        "optimizer.learning_rate.0.learning_rate": 0.1, "optimizer.learning_rate.1.scheduler": "Cosine",
        "optimizer.learning_rate.1.initial_learning_rate": 0.1, "plan.fingerprint.images": 12,
        "plan.fingerprint.sizes.32x32": 12, "plan.advice": []}


def test_params_are_text_within_the_store_limit_and_where_the_run_is_tracked_is_not_one():
    params = run_params({"train_input": {"image_shape": [32, 32, 1], "augment_data": True, "seed": None,
                                         "class names": "a,b"},
                         "runconfig": {"model_dir": "m", "tracking_uri": "sqlite:///x.db", "keep_best": "defect_Dice"},
                         "plan": {"advice": ["x" * 2000]}})
    assert params["train_input.image_shape"] == "[32, 32, 1]"
    assert params["train_input.augment_data"] == "True" and params["train_input.seed"] == "None"
    assert params["train_input.class names"] == "a,b"  # spaces are allowed in keys
    assert "runconfig.tracking_uri" not in params and params["runconfig.keep_best"] == "defect_Dice"
    long = params["plan.advice"]
    assert len(long) == MAX_PARAM_LENGTH and long.endswith("(2002 characters, whole in params.yaml)")
    assert param_text("short") == "short"
    assert run_params({"model": {"class@name!": 1}}) == {"model.class_name_": "1"}


def test_a_resumed_call_logs_new_parameters_and_records_changed_ones_apart():
    new, changed = param_changes({"runconfig.max_steps": "100", "model.loss": "bce"},
                                 {"runconfig.max_steps": "200", "model.loss": "bce", "runconfig.calibrate": "True"})
    assert new == {"runconfig.calibrate": "True"}
    assert changed == {"runconfig.max_steps": "100 -> 200"}


def test_scores_are_metrics_of_their_split_with_classes_and_thresholds_apart():
    metrics = score_metrics("validation", {"defect_Dice": 0.5, "image_AUROC": None, "mIOU": float("nan")},
                            classes=[("scratch", {"defect_Dice": 0.25}), ("dent 2", {"defect_Dice": 0.75})],
                            thresholds=[(0.3, {"defect_IoU": 0.4})])
    assert metrics == {"validation/defect_Dice": 0.5, "validation/class_scratch/defect_Dice": 0.25,
                       "validation/class_dent 2/defect_Dice": 0.75, "validation/threshold_0.3/defect_IoU": 0.4}
    assert score_metrics("test", {"DSC": 1}) == {"test/DSC": 1.0}


def tracked_world(tracker: FakeRunTracker) -> tuple[UseCaseFakes, TrainAndEvaluateUseCase]:
    """train_and_eval of the fake world with a validation part: checkpoints at 2 and 4, then the test images."""
    world = UseCaseFakes(RunSpec(model_dir="m", max_steps=4, save_checkpoints_steps=2, log_step_count_steps=2))
    world.reader = FakeDatasetReader([batch([(0, 0)], [(0, 0)])], eval_batches=[batch([(0, 0)], [(0, 0)])],
                                     test_batches=[batch([(0, 1)], [(0, 0)])])
    evaluate = world.evaluate_with(validation=True, tracker=tracker)
    final = FinalEvaluationUseCase(evaluate, world.best, world.artifacts)
    return world, TrainAndEvaluateUseCase(world.train, evaluate, world.checkpoints, final=final)


def test_a_tracked_run_logs_parameters_machine_scores_by_split_then_its_files_and_finishes():
    tracker = FakeRunTracker()
    world, use_case = tracked_world(tracker)
    outputs = [("m/params.yaml", ""), ("m/eval/results.json", ""), ("plan.yaml", "plan")]
    run = TrackedRun(tracker, {"runconfig": {"max_steps": 4, "tracking_uri": "sqlite:///t.db"}}, outputs,
                     FakeMachineProbe(facts(gpus=("/physical_device:GPU:0",))))
    done = run.execute(use_case.execute)
    assert done.training.final_step == 4
    assert tracker.params == {"runconfig.max_steps": "4"}
    assert tracker.tags == {"machine.cpu": "AMD EPYC, 2 cores; avx2 yes, fma yes, avx512f no, avx512_bf16 no, "
                                           "amx_bf16 no, amx_tile no", "machine.gpus": "/physical_device:GPU:0"}
    validation = tracker.history("validation/defect_Dice")
    assert [step for step, _ in validation] == [2, 4]
    assert [step for step, _ in tracker.history("test/defect_Dice")] == [4]
    assert tracker.history("test/defect_Dice")[0][1] != validation[-1][1]  # the test images scored apart
    assert not tracker.history("eval/defect_Dice")
    assert tracker.files == [("m/params.yaml", ""), ("m/eval/results.json", ""), ("plan.yaml", "plan")]
    assert tracker.status == "FINISHED"


def test_a_failed_or_interrupted_run_still_logs_its_files_and_ends_so():
    tracker = FakeRunTracker()

    def fails():
        raise UnetError("data: broken")

    with pytest.raises(UnetError, match="data: broken"):
        TrackedRun(tracker, {}, [("m/params.yaml", "")]).execute(fails)
    assert tracker.status == "FAILED" and tracker.files == [("m/params.yaml", "")]

    def interrupted():
        raise TrainingInterrupted("SIGTERM received", 15)

    with pytest.raises(TrainingInterrupted):
        TrackedRun(tracker, {}).execute(interrupted)
    assert tracker.status == "KILLED"


def test_a_store_that_goes_away_stops_the_run_at_its_next_scores():
    tracker = FakeRunTracker(fail_on_metrics="MLflow at http://x: connection refused")
    _, use_case = tracked_world(tracker)
    with pytest.raises(UnetError, match="connection refused"):
        TrackedRun(tracker, {}).execute(use_case.execute)
    assert tracker.status == "FAILED"


def test_without_a_tracking_uri_nothing_is_computed_or_sent():
    class NoProbe:
        def facts(self, extras=True):
            raise AssertionError("the machine was probed for an untracked run")

    assert TrackedRun(NO_TRACKING, {"runconfig": {}}, [("m/params.yaml", "")], NoProbe()).execute(lambda: 7) == 7


def test_an_export_is_logged_to_the_run_under_export():
    tracker = FakeRunTracker()
    world, _ = tracked_world(tracker)
    world.train.execute()
    from unet_defects.adapters.runtimes.catalog import EXPORT_FORMATS
    from unet_defects.application.export import ExportUseCase

    export = ExportUseCase(world.opener(), world.exporter, EXPORT_FORMATS, tracker=tracker)
    report = TrackedRun(tracker, {}, keeps_status=True).execute(lambda: export.execute("line"))
    assert tracker.files == [(report.path, "export")] and tracker.keeps_status
    assert tracker.status is None  # the training run's own status (failed, running) is left as it is


def test_a_folder_store_is_refused_with_the_sqlite_store_to_use():
    assert mlflow_store.is_file_store("file:///runs/mlruns") and mlflow_store.is_file_store("mlruns")
    assert not mlflow_store.is_file_store("sqlite:///runs/mlflow.db")
    assert not mlflow_store.is_file_store("http://mlflow:5000")
    line = mlflow_store.refusal("file:///runs/mlruns", RuntimeError("The filesystem tracking backend ..."))
    assert line == ("runconfig.tracking_uri: file:///runs/mlruns: MLflow no longer takes a folder as its store; use "
                    "a local database such as sqlite:////runs/mlruns/mlflow.db, or a tracking server (http://HOST:5000)")
    assert mlflow_store.sqlite_instead("mlruns") == "sqlite:///mlruns/mlflow.db"
    assert mlflow_store.refusal("http://x:5000", RuntimeError("API request failed\nretries")) == \
        "runconfig.tracking_uri: http://x:5000: API request failed"


def test_a_local_store_keeps_its_runs_files_beside_it():
    assert mlflow_store.local_artifacts("sqlite:////data/runs/mlflow.db") == "file:///data/runs/mlartifacts"
    assert mlflow_store.local_artifacts("http://mlflow:5000") is None


def test_without_mlflow_the_error_names_the_extra(monkeypatch, tmp_path):
    monkeypatch.setattr(mlflow_tracking.importlib.util, "find_spec", lambda name: None)
    tracker = mlflow_tracking.MlflowTracker("sqlite:///x.db", str(tmp_path))
    with pytest.raises(UnetError) as raised:
        TrackedRun(tracker, {}).execute(lambda: None)
    assert str(raised.value) == 'runconfig.tracking_uri: needs MLflow; pip install "unet-defects[track]"'
    assert not (tmp_path / mlflow_store.RECORD_FILE).exists()


def test_an_untracked_configuration_never_imports_mlflow():
    code = ("import sys\n"
            "from unet_defects.container import build_container\n"
            "container = build_container({'train_input': {'dataset': 'external', 'image_shape': [8, 8, 1]},\n"
            "                             'runconfig': {'model_dir': 'm'}})\n"
            "print(type(container.tracker()).__name__, container.tracked_run().execute(lambda: 'ran'),\n"
            "      'mlflow' in sys.modules)\n")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["NoTracking", "ran", "False"]


def test_the_helper_answers_the_run_then_drops_every_call_after_a_failure(monkeypatch):
    made = []

    class Run:
        def __init__(self, uri, model_dir, run_name):
            self.uri, self.run_id, self.calls = uri, "r1", []
            made.append(self)

        def open(self, params):
            self.calls.append(("open", params))

        def metrics(self, step, values, timestamp):
            if step == 2:
                raise RuntimeError("database is locked\nmore")
            self.calls.append(("metrics", step))

        def close(self, status, tags):
            self.calls.append(("close", status))

    monkeypatch.setattr(mlflow_store, "MlflowRun", Run)
    calls = [{"open": {"uri": "sqlite:///s.db", "model_dir": "m", "run_name": "m", "params": {"a": "1"}}},
             {"metrics": {"step": 1, "values": {}, "timestamp": 0}}, {"metrics": {"step": 2, "values": {}, "timestamp": 0}},
             {"metrics": {"step": 3, "values": {}, "timestamp": 0}}, {"close": {"status": "FINISHED", "tags": {}}}]
    answers = []
    mlflow_store.serve([json.dumps(call) for call in calls], answers.append)
    assert answers == [{"run": "r1"}, {"failure": "MLflow at sqlite:///s.db: database is locked"}]
    assert made[0].calls == [("open", {"a": "1"}), ("metrics", 1)]


def test_the_run_leaves_its_files_and_the_plan_it_was_started_from():
    from unet_defects.adapter_factories import run_outputs
    from unet_defects.application.evaluation_pictures import PICTURE_FILES
    from unet_defects.configs.loader import build_experiment

    sections = {"train_input": {"dataset": "external", "image_shape": [8, 8, 1]}, "runconfig": {"model_dir": "m"}}
    plain = run_outputs(build_experiment(sections), "params.yaml")
    assert plain[:6] == (("m/params.yaml", ""), ("m/eval/results.json", ""), ("m/eval/results.csv", ""),
                         ("m/calibration.json", ""), ("m/report.png", ""), ("m/drift_reference.json", ""))
    assert plain[6:] == tuple((f"m/eval/{name}", "pictures") for name in PICTURE_FILES) + \
        tuple((f"m/eval/test/{name}", "pictures/test") for name in PICTURE_FILES)
    planned = run_outputs(build_experiment({**sections, "plan": {"dataset_path": "d", "budget": "30m"}}), "plan.yaml")
    assert planned == plain + (("plan.yaml", "plan"),)
    assert run_outputs(build_experiment({**sections, "plan": {"dataset_path": "d"}}), "") == plain  # a mapping: no file


@pytest.mark.parametrize("tf_config, tracked", [
    (None, True),  # an export or evaluation of a model trained on several workers: no cluster, tracked
    ({"cluster": {"worker": ["a:1", "b:1"]}, "task": {"type": "worker", "index": 0}}, True),  # the chief
    ({"cluster": {"worker": ["a:1", "b:1"]}, "task": {"type": "worker", "index": 1}}, False),
])
def test_only_a_clusters_chief_tracks_and_a_command_outside_a_cluster_does(monkeypatch, tf_config, tracked):
    from unet_defects.adapter_factories import tracker
    from unet_defects.configs.loader import build_experiment

    if tf_config is None:
        monkeypatch.delenv("TF_CONFIG", raising=False)
    else:
        monkeypatch.setenv("TF_CONFIG", json.dumps(tf_config))
    experiment = build_experiment({"train_input": {"dataset": "external", "image_shape": [8, 8, 1]},
                                   "runconfig": {"model_dir": "m", "enable_distributed": True,
                                                 "multiple_workers": True}})
    assert tracker(experiment, "sqlite:///m/mlflow.db").active is tracked
