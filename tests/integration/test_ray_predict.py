"""`unet predict --ray` on a local Ray (2 CPUs): the lines and files of `unet predict` in one
process, bad files one line each, and every image written exactly once after a worker or the
driver is killed mid-run."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import imageio.v3 as iio
import numpy as np
import pytest

from tests.conftest import unet_in_process

ray = pytest.importorskip("ray", reason="the [scale] extra (Ray) is not installed")
psutil = pytest.importorskip("psutil", reason="psutil (in the [test] extra) finds the worker processes")

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def local_ray():
    """One local Ray for the module: the commands find it running and leave it running."""
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


def _parts(folder: Path, count: int, seed: int = 0) -> Path:
    """Gray parts of two sizes, the larger past the 32 x 32 training crop, and bright scratches."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    for index in range(count):
        shape = (32, 32) if index % 2 else (48, 40)
        image = rng.integers(60, 120, shape, dtype=np.uint8)
        image[5 + index % 9, 3:20] = 250
        iio.imwrite(folder / f"part{index:03d}.png", image, extension=".png")
    return folder


def _outputs(folder: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in sorted(folder.glob("*.png"))}


def _lines(folder: Path) -> list[dict]:
    """predictions.jsonl's lines by file (a Ray run's are grouped by batch)."""
    lines = [json.loads(line) for line in (folder / "predictions.jsonl").read_text().splitlines()]
    return sorted(lines, key=lambda line: line["file"])


def _shard_files(folder: Path) -> list[str]:
    return [json.loads(line)["file"] for shard in sorted((folder / "shards").glob("predictions-*.jsonl"))
            for line in shard.read_text().splitlines() if "error" not in json.loads(line)]


def _predict(model_dir: Path, inputs: Path, output: Path, *flags: str):
    return unet_in_process("predict", "--model_dir", str(model_dir), "--input", str(inputs), "--output", str(output),
                           *flags)


def _assert_each_image_once(inputs: Path, output: Path, reference: Path) -> None:
    names = sorted(str(path) for path in inputs.glob("*.png"))
    assert sorted(_shard_files(output)) == names  # no duplicate, none missing
    assert sorted(line["file"] for line in _lines(output)) == names
    assert not list(output.rglob(".*.tmp"))  # no half-written file left
    assert _outputs(output) == _outputs(reference)


def test_ray_writes_what_one_process_writes_and_bad_files_are_one_line_each(local_ray, trained_tiny, tmp_path):
    inputs = _parts(tmp_path / "parts", 10)
    gray = iio.imread(inputs / "part000.png")
    iio.imwrite(inputs / "part_16bit.png", gray.astype(np.uint16) * 257, extension=".png")
    iio.imwrite(inputs / "part_rgb.png", np.stack([gray, gray // 2, 255 - gray], axis=2), extension=".png")
    iio.imwrite(inputs / "part_rgba.png", np.stack([gray, gray, gray, 255 - gray], axis=2), extension=".png")
    one = _predict(trained_tiny, inputs, tmp_path / "one")
    assert one.returncode == 0, one.stderr
    spread = _predict(trained_tiny, inputs, tmp_path / "ray", "--ray", "--workers", "2")
    assert spread.returncode == 0, spread.stderr
    assert _lines(tmp_path / "ray") == _lines(tmp_path / "one")  # the scores to the last digit
    assert _outputs(tmp_path / "ray") == _outputs(tmp_path / "one")  # masks and overlays to the byte
    assert "predicted 13/13 files" in spread.stderr

    (inputs / "truncated.png").write_bytes((inputs / "part001.png").read_bytes()[:60])
    (inputs / "notes.png").write_text("a text file named .png")
    iio.imwrite(inputs / "large.png", np.zeros((80, 80), np.uint8), extension=".png")
    again = _predict(trained_tiny, inputs, tmp_path / "ray", "--ray", "--max_pixels", "5000")
    assert again.returncode == 1  # some failed
    errors = (tmp_path / "ray" / "errors.txt").read_text().splitlines()
    assert len(errors) == 3 and all(str(inputs) in line for line in errors)
    assert any("large.png: 80 x 80 = 6,400 pixels, more than --max_pixels 5,000" in line for line in errors)
    assert "13 of 16 images were written by an earlier run" in again.stderr
    assert len(_lines(tmp_path / "ray")) == 13
    calibrated = _predict(trained_tiny, inputs, tmp_path / "ray", "--ray", "--threshold", "0.3")
    assert calibrated.returncode == 2 and "its images were predicted with another decisions" in calibrated.stderr


def test_an_export_with_tta_on_ray_writes_what_one_process_writes(local_ray, tiny_exports, tmp_path):
    inputs = _parts(tmp_path / "parts", 6)
    flags = ("--model", str(tiny_exports["onnx"]), "--engine", "onnxruntime", "--tta", "flip", "--debug")
    one = unet_in_process("predict", "--input", str(inputs), "--output", str(tmp_path / "one"), *flags)
    assert one.returncode == 0, one.stderr
    spread = unet_in_process("predict", "--input", str(inputs), "--output", str(tmp_path / "ray"), *flags, "--ray")
    assert spread.returncode == 0, spread.stderr
    assert _lines(tmp_path / "ray") == _lines(tmp_path / "one")
    assert _outputs(tmp_path / "ray") == _outputs(tmp_path / "one")


def test_a_workers_project_error_ends_the_run_in_its_one_line(local_ray, tmp_path):
    import functools

    from unet_defects.adapters.ray_data import RayDataRunner
    from unet_defects.domain.errors import UnetError
    from unet_defects.predicting import ModelSpec, WorkerSpec, open_worker

    inputs = _parts(tmp_path / "parts", 2)
    spec = WorkerSpec(ModelSpec(str(tmp_path / "gone"), None), str(tmp_path / "out"))  # a node without the model
    items = [(str(path), str(path)) for path in sorted(inputs.glob("*.png"))]
    with pytest.raises(UnetError) as raised:
        list(RayDataRunner(workers=1).run(items, functools.partial(open_worker, spec, None, {})))
    assert str(raised.value) == f"{tmp_path / 'gone' / 'params.yaml'}: no params.yaml in the model_dir; pass --params " \
                                "with the training config"


def _workers() -> list:
    return [process for process in psutil.process_iter(["cmdline"])
            if any("MapWorker" in part for part in process.info["cmdline"] or [])]


def _wait_for(condition, seconds: float = 120.0) -> None:
    end = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > end:
            raise AssertionError("timed out")
        time.sleep(0.02)


def test_a_killed_worker_leaves_every_image_written_once(local_ray, trained_tiny, tmp_path):
    import threading

    inputs = _parts(tmp_path / "parts", 300, seed=1)
    assert _predict(trained_tiny, inputs, tmp_path / "one").returncode == 0
    output = tmp_path / "ray"
    killed: list[int] = []

    def kill_a_worker_mid_run() -> None:
        _wait_for(lambda: output.is_dir() and any(output.glob("*_mask.png")))
        worker = _workers()[0]
        os.kill(worker.pid, signal.SIGKILL)
        killed.extend([worker.pid, len(list(output.glob("*_mask.png")))])

    killer = threading.Thread(target=kill_a_worker_mid_run, daemon=True)
    killer.start()
    result = _predict(trained_tiny, inputs, output, "--ray", "--workers", "2")
    killer.join(timeout=5)
    assert result.returncode == 0, result.stderr
    pid, masks_when_killed = killed
    assert not psutil.pid_exists(pid) and masks_when_killed < 300  # killed mid-run
    _assert_each_image_once(inputs, output, tmp_path / "one")


def test_a_killed_driver_is_finished_by_a_rerun(local_ray, trained_tiny, tmp_path):
    inputs = _parts(tmp_path / "parts", 300, seed=2)
    assert _predict(trained_tiny, inputs, tmp_path / "one").returncode == 0
    output = tmp_path / "ray"
    driver = subprocess.Popen(
        [sys.executable, "-m", "unet_defects.cli", "predict", "--model_dir", str(trained_tiny), "--input", str(inputs),
         "--output", str(output), "--ray", "--workers", "2"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env={**os.environ, "RAY_ADDRESS": ""},
        start_new_session=True)
    try:
        _wait_for(lambda: any((output / "shards").glob("predictions-*.jsonl")) if (output / "shards").is_dir()
                  else False)
        driver.send_signal(signal.SIGKILL)
        driver.wait(timeout=30)
    finally:
        if driver.poll() is None:
            driver.kill()
    try:  # what the killed driver's Ray left behind (its agents outlive it); the driver's own group
        os.killpg(driver.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    written_before = len(_shard_files(output))
    assert 0 < written_before < 300 and not (output / "predictions.jsonl").exists()
    rerun = _predict(trained_tiny, inputs, output, "--ray", "--workers", "2")
    assert rerun.returncode == 0, rerun.stderr
    assert f"{written_before} of 300 images were written by an earlier run" in rerun.stderr
    _assert_each_image_once(inputs, output, tmp_path / "one")
