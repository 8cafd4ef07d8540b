"""Two worker processes on 127.0.0.1 (CPU) train with MultiWorkerMirroredStrategy from TF_CONFIG."""

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.e2e.multi_worker import check_one_cluster, two_worker_params

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
    params = two_worker_params(tiny_dagm, tmp_path / "model")
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
    check_one_cluster(params, tmp_path, [tmp_path / f"worker{index}.npz" for index in range(2)])
