"""`unet serve` as a process: it prints where it listens and its traffic, and SIGTERM in the
middle of a burst answers every request it accepted, then exits 0."""

import http.client
import json
import os
import signal
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

from tests.conftest import unet_in_process

pytest.importorskip("starlette")
pytestmark = pytest.mark.slow


def infer_body(seed: int) -> bytes:
    pixels = np.random.default_rng(seed).integers(0, 256, 128 * 128).tolist()
    return json.dumps({"inputs": [{"name": "image", "datatype": "UINT8", "shape": [1, 128, 128, 1],
                                   "data": pixels}]}).encode()


def test_sigterm_during_a_burst_answers_every_accepted_request_then_exits_0(trained_tiny):
    process = subprocess.Popen(
        [sys.executable, "-m", "unet_defects.cli", "serve", "--model_dir", str(trained_tiny), "--port", "0",
         "--max_batch", "4", "--report_every_s", "1"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        first = process.stdout.readline()
        assert first.startswith("unet serve: http://127.0.0.1:"), first + process.stderr.read()
        port = int(first.split("http://127.0.0.1:")[1].split(" ")[0])
        lines = [process.stdout.readline() for _ in range(2)]
        assert "decision threshold" in lines[0] and "batching up to 4 images" in lines[1]

        bodies = [infer_body(seed) for seed in range(4)]
        answered, statuses, stop, signalled = [], [], threading.Event(), threading.Event()

        def client(number: int) -> None:
            while not stop.is_set():
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
                try:
                    connection.request("POST", "/v2/models/unet/infer", body=bodies[number % 4])
                    response = connection.getresponse()
                    response.read()
                    statuses.append(response.status)
                    answered.append(signalled.is_set())
                except ConnectionRefusedError:
                    return  # the server stopped listening: not accepted
                except OSError:
                    pass  # reset before the app saw it (the listening socket's backlog at close)
                finally:
                    connection.close()

        threads = [threading.Thread(target=client, args=(number,)) for number in range(8)]
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + 60
        while len(statuses) < 40 and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(1.2)  # a traffic line falls due while the burst runs
        process.send_signal(signal.SIGTERM)
        signalled.set()
        status = process.wait(timeout=90)
        stop.set()
        for thread in threads:
            thread.join(60)
        output = process.stdout.read()
        assert status == 0, output + process.stderr.read()
        accepted, server_answered = (int(word) for word in output.split("stopped; ")[1].split()[::3][:2])
        assert accepted == server_answered == len(statuses), output
        assert set(statuses) <= {200, 503} and statuses.count(200) >= 40
        assert sum(answered) >= 1, "no request was in flight when the signal came"
        assert "requests (0 errors)" in output and "latency p50" in output  # a traffic line
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_a_missing_serve_extra_is_one_line_naming_the_install_command(tmp_path, monkeypatch):
    import importlib

    real = importlib.import_module

    def without_uvicorn(name, *args, **kwargs):
        if name == "uvicorn":
            raise ImportError("No module named 'uvicorn'")
        return real(name, *args, **kwargs)

    monkeypatch.setattr(importlib, "import_module", without_uvicorn)
    result = unet_in_process("serve", "--model_dir", str(tmp_path))
    assert result.returncode == 2
    assert result.stderr.strip().endswith('unet serve needs the uvicorn package, not installed here: '
                                          'pip install -e ".[serve]"')


def test_a_non_loopback_host_without_a_token_is_refused_before_any_model_opens(tmp_path):
    result = unet_in_process("serve", "--model_dir", str(tmp_path), "--host", "0.0.0.0")
    assert result.returncode == 2
    assert "--host 0.0.0.0: other machines could reach this server; give --token_file F" in result.stderr
    result = unet_in_process("serve", "--model_dir", str(tmp_path), "--model", str(tmp_path))
    assert result.returncode == 2 and "give one of --model_dir" in result.stderr
    result = unet_in_process("serve", "--model_dir", str(tmp_path), "--token_file", str(tmp_path / "absent"))
    assert result.returncode == 2 and "--token_file" in result.stderr and "cannot read it" in result.stderr
