"""Fault injection: SIGKILL at several points, SIGINT/SIGTERM, a second trainer, other topologies."""

import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import yaml

from tests.conftest import tiny_params, unet_in_process

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow


def start(params: dict, path: Path, *extra: str) -> subprocess.Popen:
    path.write_text(yaml.safe_dump(params))
    command = [sys.executable, "-m", "unet_defects.cli", "run", "--params", str(path), "--mode", "train", *extra]
    return subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def checkpoint_steps(model_dir: Path) -> list[int]:
    import tensorflow as tf

    state = tf.train.get_checkpoint_state(str(model_dir)) if model_dir.is_dir() else None
    return sorted(int(p.rsplit("-", 1)[1]) for p in (state.all_model_checkpoint_paths if state else []))


def wait_for(condition, process: subprocess.Popen, timeout: float = 120.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        if process.poll() is not None:
            return False
        time.sleep(0.02)
    raise AssertionError("timed out waiting for training to progress")


def assert_every_checkpoint_reads_back(model_dir: Path) -> dict[str, np.ndarray]:
    import tensorflow as tf

    tensors = {}
    for step in checkpoint_steps(model_dir):
        reader = tf.train.load_checkpoint(str(model_dir / f"model.ckpt-{step}"))
        tensors = {name: reader.get_tensor(name) for name in reader.get_variable_to_shape_map()}
        floats = [t for t in tensors.values() if isinstance(t, np.ndarray) and t.dtype.kind == "f"]
        assert floats and all(np.isfinite(t).all() for t in floats)
    return tensors


def params_for(tiny_dagm, model_dir: Path, **runconfig) -> dict:
    values = dict(max_steps=400, save_checkpoints_steps=20, keep_checkpoint_max=3, log_step_count_steps=20,
                  save_summary_steps=20)
    values.update(runconfig)
    return tiny_params(tiny_dagm, model_dir, **values)


def test_sigkill_at_several_points_then_the_rerun_ends_at_max_steps(tiny_dagm, tmp_path):
    model_dir = tmp_path / "model"
    params = params_for(tiny_dagm, model_dir, max_steps=200)  # 3 kills take about 60 steps, more on a fast CPU
    kills = []
    for delay in (0.0, 0.05, 0.2):  # right after a checkpoint appears, then a little later
        seen = checkpoint_steps(model_dir)
        process = start(params, tmp_path / "p.yaml")
        progressed = wait_for(lambda: checkpoint_steps(model_dir)[-1:] != seen[-1:], process)
        time.sleep(delay)
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
            kills.append(checkpoint_steps(model_dir)[-1:])
        _, err = process.communicate()
        assert progressed or process.returncode == 0
        # Each run starts from the last complete checkpoint the killed one left, not from 0.
        assert f"training from step {seen[-1] if seen else 0} to step 200" in err
        assert_every_checkpoint_reads_back(model_dir)
    assert len(kills) >= 3, "training finished before the kills could land"
    last = checkpoint_steps(model_dir)[-1]
    # The rerun in this process: what it checks is the model dir the kills left, not a process.
    final = unet_in_process("run", "--params", str(tmp_path / "p.yaml"), "--mode", "train")
    assert final.returncode == 0, final.stderr
    assert f"training from step {last} to step 200" in final.stderr
    assert checkpoint_steps(model_dir)[-1] == 200
    stored = assert_every_checkpoint_reads_back(model_dir)

    from unet_defects.container import build_container

    container = build_container(params)
    model = container.builder().build(container.experiment().model)
    assert container.checkpoints().restore(model).step == 200
    # The checkpoint files the weights under the first path that reaches them (the optimizer).
    saved = {name: value for name, value in stored.items() if "_trainable_variables/" in name}
    assert len(saved) == len(model.weights)
    restored = sorted(v.numpy().tobytes() for v in model.weights)
    assert restored == sorted(value.tobytes() for value in saved.values())


@pytest.mark.parametrize("signum, status, name", [(signal.SIGTERM, 143, "SIGTERM"), (signal.SIGINT, 130, "SIGINT")])
def test_sigterm_and_sigint_write_a_checkpoint_of_the_current_step(tiny_dagm, tmp_path, signum, status, name):
    model_dir = tmp_path / "model"
    process = start(params_for(tiny_dagm, model_dir, max_steps=10**6, save_checkpoints_steps=50), tmp_path / "p.yaml")
    wait_for(lambda: bool(checkpoint_steps(model_dir)), process)
    time.sleep(0.3)
    process.send_signal(signum)
    _, err = process.communicate(timeout=120)
    assert process.returncode == status, err
    line = next(line for line in err.splitlines() if line.startswith("unet: error: "))
    stopped = int(line.split("stopped at step ")[1].split(",")[0])
    assert f"{name} received: stopped at step {stopped}, checkpoint saved" in line
    assert checkpoint_steps(model_dir)[-1] == stopped
    assert_every_checkpoint_reads_back(model_dir)


def test_a_second_trainer_is_refused_and_a_dead_ones_lock_is_taken_over(tiny_dagm, tmp_path):
    model_dir = tmp_path / "model"
    first = start(params_for(tiny_dagm, model_dir, max_steps=10**6), tmp_path / "p1.yaml")
    wait_for(lambda: bool(checkpoint_steps(model_dir)), first)
    (tmp_path / "p2.yaml").write_text(yaml.safe_dump(params_for(tiny_dagm, model_dir, max_steps=10**6)))
    second = unet_in_process("run", "--params", str(tmp_path / "p2.yaml"), "--mode", "train")  # the lock is between processes
    assert second.returncode == 2
    assert f"already being trained by process {first.pid}" in second.stderr and "Traceback" not in second.stderr
    first.send_signal(signal.SIGKILL)
    first.communicate()
    last = checkpoint_steps(model_dir)[-1]
    (tmp_path / "p3.yaml").write_text(yaml.safe_dump(params_for(tiny_dagm, model_dir, max_steps=last + 5)))
    third = unet_in_process("run", "--params", str(tmp_path / "p3.yaml"), "--mode", "train")  # this process
    assert third.returncode == 0, third.stderr
    assert checkpoint_steps(model_dir)[-1] == last + 5


def test_resuming_with_another_topology_names_the_keys(tiny_dagm, tmp_path):
    model_dir = tmp_path / "model"
    params = params_for(tiny_dagm, model_dir, max_steps=2)
    (tmp_path / "p.yaml").write_text(yaml.safe_dump(params))
    assert unet_in_process("run", "--params", str(tmp_path / "p.yaml"), "--mode", "train").returncode == 0
    params["model"]["encoder_filters"] = [4, 16]
    params["model"]["nonlinearity"] = "ELU"
    (tmp_path / "p.yaml").write_text(yaml.safe_dump(params))
    resumed = unet_in_process("run", "--params", str(tmp_path / "p.yaml"), "--mode", "train")
    err = resumed.stderr
    assert resumed.returncode == 2
    assert "holds a model of another topology (model.encoder_filters [4, 8] -> [4, 16]; " \
           "model.nonlinearity ReLU -> ELU)" in err
    assert "Traceback" not in err


def test_a_failing_checkpoint_write_names_the_last_complete_step_which_still_restores(tiny_dagm, tmp_path):
    model_dir = tmp_path / "model"
    (model_dir / "model.ckpt-40.index").mkdir(parents=True)  # in the way of the second checkpoint, even for root
    (tmp_path / "p.yaml").write_text(yaml.safe_dump(params_for(tiny_dagm, model_dir, max_steps=60)))
    failed = unet_in_process("run", "--params", str(tmp_path / "p.yaml"), "--mode", "train")  # a process is not what is tested
    err = failed.stderr
    assert failed.returncode == 2 and "Traceback" not in err
    line, = [line for line in err.splitlines() if line.startswith("unet: error: ")]
    assert line.startswith(f"unet: error: {model_dir}: cannot write the checkpoint of step 40 (")
    assert line.endswith("; the last complete checkpoint is step 20")
    from unet_defects.container import build_container

    container = build_container(params_for(tiny_dagm, model_dir))
    model = container.builder().build(container.experiment().model)
    assert container.checkpoints().restore(model).step == 20


def test_an_unwritable_model_dir_is_reported_before_training(tiny_dagm, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    (tmp_path / "p.yaml").write_text(yaml.safe_dump(params_for(tiny_dagm, blocker / "model", max_steps=2)))
    refused = unet_in_process("run", "--params", str(tmp_path / "p.yaml"), "--mode", "train")
    err = refused.stderr
    assert refused.returncode == 2 and "Traceback" not in err
    assert "unet: error: " in err and "a-file/model" in err
