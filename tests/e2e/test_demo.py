"""The README's main job: `unet run` with no other flags reaches the reference's headline."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import unet_in_process

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow


def test_default_run_generates_data_trains_evaluates_and_reaches_the_headline(tmp_path):
    data, model = tmp_path / "data", tmp_path / "model"
    command = [sys.executable, "-m", "unet_defects.cli", "run",
               "--set", f"train_input.dataset_path={data}", "--model_dir", str(model)]
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stderr
    scores = json.loads((model / "eval" / "results.json").read_text())
    assert scores["mIOU"] >= 0.87 and scores["DSC"] >= 0.93, scores
    assert scores["global_step"] == 130 and scores["num_images"] == 48
    assert "defect_IoU" in result.stdout and "defect_Dice" in result.stdout
    assert "training steps 0..130 costs 2,080 images x 1.94 GFLOP = 4.04 TFLOP" in result.stderr
    assert len(list((model / "eval" / "samples").glob("*.png"))) == 3

    marker = data / ".synthetic-complete.json"
    generated_at = marker.stat().st_mtime_ns
    # The rerun in this process: what it checks is the cache, not a first start-up.
    again = unet_in_process(*command[3:])
    assert again.returncode == 0, again.stderr
    assert marker.stat().st_mtime_ns == generated_at  # cached, not regenerated
    assert "generating the synthetic dataset" not in again.stderr
    assert "nothing to train" in again.stderr
