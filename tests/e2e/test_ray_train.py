"""`unet run --ray [ADDRESS] --workers N`: the refusals and the missing extra before any Ray starts,
and 2 workers on a local Ray ending with the weights of test_distributed.py's two processes."""

import importlib.util
import json
import os
import sys
import time
from pathlib import Path

import psutil
import pytest
import yaml

from tests.conftest import tiny_params, unet_in_process
from tests.e2e.multi_worker import SavingSpec, check_one_cluster, two_worker_params
from unet_defects import ray_run
from unet_defects.adapters import ray_train
from unet_defects.application.values import TrainOutcome
from unet_defects.domain.errors import DataError

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def params_file(tiny_dagm, tmp_path):
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(tiny_params(tiny_dagm, tmp_path / "model")))
    return path


@pytest.fixture
def no_ray(monkeypatch):
    """Ray unimportable: a command that tried to start it would end with the missing-extra line."""
    monkeypatch.setitem(sys.modules, "ray", None)
    monkeypatch.delenv("RAY_ADDRESS", raising=False)  # a local Ray, whose core count is checked first


def one_error_line(result) -> str:
    """The error, alone on the last line (log lines before it are the run's own)."""
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2 and [line for line in lines if "error" in line] == lines[-1:], result.stderr
    return lines[-1]


@pytest.mark.parametrize("flags, message", [
    (["--set", "optimizer.loss_scaling_factor=dynamic"], "use 'tf_dynamic'"),
    (["--set", "optimizer.grad_accum_steps=2"], "optimizer.grad_accum_steps: not combined with enable_distributed"),
    (["-m", "train_and_eval"], "runconfig.mode: only train runs on Ray Train, got train_and_eval"),
    (["--validate_only"], "--validate_only: checks one process"),
    (["--steps", "2"], "--steps: not combined with --ray"),
    (["--time_budget", "1m"], "runconfig.time_budget: not combined with --ray"),
    (["--workers", "0"], "--workers: must be at least 1, got 0"),
    (["--workers", "4096"], "--workers 4096: this machine has"),
], ids=["dynamic-scale", "grad-accum", "train-and-eval", "validate-only", "steps", "time-budget", "zero", "too-many"])
def test_what_ray_does_not_run_is_one_line_before_ray_starts(params_file, no_ray, flags, message):
    result = unet_in_process("run", "--ray", "-p", str(params_file), "-m", "train", *flags)
    assert message in one_error_line(result)


def test_workers_without_ray_is_one_line(params_file, no_ray):
    line = one_error_line(unet_in_process("run", "-p", str(params_file), "--workers", "2"))
    assert line == "unet: error: --workers: needs --ray [ADDRESS], the Ray cluster the workers run on"


def test_without_the_scale_extra_the_line_names_it(params_file, no_ray):
    line = one_error_line(unet_in_process("run", "--ray", "--workers", "1", "-p", str(params_file), "-m", "train"))
    assert line == 'unet: error: unet run --ray needs the ray package, not installed here: pip install -e ".[scale]"'


class FakeRunner:
    """Records what the CLI hands Ray and answers with the chief's outcome."""

    calls: list = []

    def __init__(self, address, workers, model_dir, say) -> None:
        self.calls.append((address, workers, model_dir))

    def run(self, work):
        self.calls.append(work)
        return TrainOutcome(start_step=0, final_step=4, last_loss=0.5, images_per_second=10.0, seconds=2.0)


def test_the_cli_hands_ray_a_multi_worker_spec_and_prints_the_chiefs_outcome(params_file, tmp_path, monkeypatch):
    monkeypatch.setattr(ray_train, "RayTrainRunner", FakeRunner)
    monkeypatch.setattr(FakeRunner, "calls", [])
    monkeypatch.chdir(tmp_path)
    result = unet_in_process("run", "--ray", "head:6379", "--workers", "3", "-p", "params.yaml", "-o", "relative",
                             "-m", "train", "--set", "runconfig.save_summary_steps=1")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "trained steps 0..4 in 2.0s, last loss 0.5000, 10.0 images/s\n"
    (address, workers, model_dir), work = FakeRunner.calls
    assert (address, workers, model_dir) == ("head:6379", 3, str(tmp_path / "relative"))
    assert work.func is ray_run.train_worker
    spec = work.args[0]
    assert spec.params == str(params_file) and spec.cwd == str(tmp_path)
    assert spec.runconfig["enable_distributed"] and spec.runconfig["multiple_workers"]
    # The --set values, then model_dir made absolute: one folder, whatever a worker's folder.
    assert spec.overrides == ("runconfig.save_summary_steps=1", f'runconfig.model_dir="{tmp_path / "relative"}"')
    assert spec.container().experiment().run.model_dir == str(tmp_path / "relative")


def ray_processes() -> list:
    """Ray's processes under this one: a local Ray's head (gcs_server, raylet, ...) and workers."""
    found = []
    for child in psutil.Process().children(recursive=True):
        try:
            if "ray" in " ".join(child.cmdline()).lower():
                found.append(child)
        except psutil.Error:  # gone meanwhile
            pass
    return found


@pytest.mark.slow
def test_two_ray_workers_end_with_the_weights_of_the_two_process_run(tiny_dagm, tmp_path, monkeypatch, capsys):
    ray = pytest.importorskip("ray", reason="Ray Train is the scale extra: pip install -e '.[scale]'")
    assert not ray_processes(), "a Ray of an earlier test is still running"
    params = two_worker_params(tiny_dagm, tmp_path / "model")
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(params))
    # The workers save their weights too: they unpickle SavingSpec from this repository's tests.
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    monkeypatch.setattr(ray_run, "RayTrainSpec", lambda **fields: SavingSpec(
        **fields, out=str(tmp_path / "worker{index}.npz")))
    tracking = f"sqlite:///{tmp_path / 'mlflow.db'}"
    try:
        started = time.monotonic()
        result = unet_in_process("run", "--ray", "--workers", "2", "-p", str(path), "-m", "train",
                                 "--tracking_uri", tracking)
        seconds = time.monotonic() - started
    finally:
        ray.shutdown()
    assert result.returncode == 0, result.stderr[-3000:]
    assert "trained steps 0..4 in " in result.stdout
    if importlib.util.find_spec("mlflow") is not None:  # the chief alone tracks, into the model_dir's run
        from mlflow import MlflowClient

        run_id = json.loads((tmp_path / "model" / "mlflow_run.json").read_text())["run_id"]
        losses = MlflowClient(tracking).get_metric_history(run_id, "train/loss")
        assert [metric.step for metric in losses] == [2, 4]
    difference = check_one_cluster(params, tmp_path, [tmp_path / f"worker{index}.npz" for index in range(2)])
    with capsys.disabled():
        print(f"\n2 Ray Train workers: {seconds:.1f} s with Ray's start; largest difference from one process "
              f"{difference:.3g}")
    deadline = time.monotonic() + 30  # the local Ray stopped with the run
    while ray_processes() and time.monotonic() < deadline:
        time.sleep(0.5)
    assert not ray_processes()


def test_a_failed_run_is_one_line_a_project_error_as_itself():
    pytest.importorskip("ray", reason="Ray Train is the scale extra: pip install -e '.[scale]'")
    from ray.train import WorkerGroupError
    from ray.train.v2._internal.exceptions import UserExceptionWithTraceback

    def wrapped(error):  # as Ray hands a worker's exception to the driver
        return UserExceptionWithTraceback(error, traceback_str="Traceback (most recent call last):\n  ...")

    unreadable = DataError("images/a.png: cannot read image")
    failed = WorkerGroupError("2 workers failed", {0: wrapped(RuntimeError("Collective ops is aborted\nmore")),
                                                   1: wrapped(unreadable)})
    assert ray_train.one_line(failed) is unreadable
    killed = ray_train.one_line(WorkerGroupError("1 worker failed", {1: wrapped(RuntimeError("peer reset\nmore"))}))
    assert str(killed) == ("Ray Train: worker 1 failed (RuntimeError: peer reset); a rerun resumes from model_dir's "
                           "newest checkpoint")
    assert killed.exit_status == 1
