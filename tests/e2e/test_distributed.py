"""Two worker processes on 127.0.0.1 (CPU) train with MultiWorkerMirroredStrategy from TF_CONFIG."""

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

from tests.conftest import tiny_params
from unet_defects.container import build_container

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]


def free_ports(count):
    sockets = [socket.socket() for _ in range(count)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def test_two_workers_end_with_the_weights_the_chief_saved(tiny_dagm, tmp_path):
    params = tiny_params(tiny_dagm, tmp_path / "model", max_steps=4, save_checkpoints_steps=4)
    params["runconfig"].update({"enable_distributed": True, "multiple_workers": True})
    params["train_input"]["train_batch_size"] = 4  # global: 2 per worker
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(params))
    workers = [f"127.0.0.1:{port}" for port in free_ports(2)]
    processes = []
    for index in range(2):
        tf_config = {"cluster": {"worker": workers}, "task": {"type": "worker", "index": index}}
        env = {**os.environ, "TF_CONFIG": json.dumps(tf_config), "TF_CPP_MIN_LOG_LEVEL": "2",
               "CUDA_VISIBLE_DEVICES": ""}
        processes.append(subprocess.Popen(
            [sys.executable, str(ROOT / "tests" / "e2e" / "distributed_worker.py"), str(path),
             str(tmp_path / f"worker{index}.npz")], cwd=ROOT, env=env, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True))
    outputs = [process.communicate(timeout=110) for process in processes]
    for process, (_, stderr) in zip(processes, outputs):
        assert process.returncode == 0, stderr[-3000:]
    chief, other = (np.load(tmp_path / f"worker{i}.npz") for i in range(2))
    assert int(chief["final_step"]) == int(other["final_step"]) == 4
    assert int(chief["replicas"]) == int(other["replicas"]) == 2  # one cluster, not two lone runs
    weights = [key for key in chief.files if key not in ("final_step", "replicas")]
    for key in weights:
        np.testing.assert_array_equal(chief[key], other[key])
    # Only the chief wrote checkpoints, into model_dir; the other's scratch folder is gone.
    assert sorted(p.name for p in (tmp_path / "model").glob("model.ckpt-*.index")) == ["model.ckpt-4.index"]
    assert not list((tmp_path / "model").glob(".worker-*"))
    single = dict(params, runconfig={**params["runconfig"], "enable_distributed": False, "multiple_workers": False})
    container = build_container(single)
    model = container.builder().build(container.experiment().model)
    assert container.checkpoints().restore(model).step == 4
    for key, saved in zip(weights, model.get_weights()):
        np.testing.assert_array_equal(chief[key], saved)
    # The YAML batch is global: one process training on batches of 4 lands on nearly the same weights.
    alone = build_container(dict(single, runconfig={**single["runconfig"], "model_dir": str(tmp_path / "alone")}))
    alone.train().execute()
    reference = alone.builder().build(alone.experiment().model)
    alone.checkpoints().restore(reference)
    for key, expected in zip(weights, reference.get_weights()):  # measured: at most 3e-8 apart
        np.testing.assert_allclose(chief[key], expected, atol=1e-6)
