"""Installed beside packages whose top-level names are the repository's folder names (PyPI's
`entrypoints` is one module file; `adapters` is an ML library), `unet` and the Inspector still
work: the project imports only through unet_defects."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from unet_defects.adapters.images import write_png

ROOT = Path(__file__).resolve().parents[2]
LAYERS = ("domain", "application", "adapters", "entrypoints", "configs")

pytestmark = pytest.mark.slow


def test_no_source_file_imports_a_layer_by_its_bare_folder_name():
    import re

    bare = re.compile(rf"^\s*(from|import)\s+({'|'.join(LAYERS)})\b")
    offenders = [f"{path.relative_to(ROOT)}:{number}" for folder in (*LAYERS, "tests") for path in (ROOT / folder).rglob("*.py")
                 for number, line in enumerate(path.read_text().splitlines(), 1) if bare.match(line)]
    assert offenders == []


def test_unet_and_the_inspector_run_with_decoy_modules_ahead_on_the_path(trained_tiny, tmp_path):
    decoys = tmp_path / "decoys"
    decoys.mkdir()
    for name in LAYERS:  # module files, as PyPI's entrypoints 0.4 is
        (decoys / f"{name}.py").write_text(f'raise ImportError("the decoy {name} was imported")\n')
    env = {**os.environ, "PYTHONPATH": str(decoys)}
    run = {"cwd": tmp_path, "env": env, "capture_output": True, "text": True, "timeout": 600}
    unet = str(Path(sys.executable).with_name("unet"))
    assert subprocess.run([unet, "--help"], **run).returncode == 0
    images = tmp_path / "images"
    images.mkdir()
    write_png(images / "part.png", np.random.default_rng(0).integers(0, 256, (40, 48), dtype=np.uint8))
    predicted = subprocess.run([unet, "predict", "--model_dir", str(trained_tiny), "--input", str(images),
                                "--output", str(tmp_path / "out")], **run)
    assert predicted.returncode == 0, predicted.stderr
    assert (tmp_path / "out" / "part_mask.png").is_file()
    code = ("import numpy as np; from unet_defects import Inspector\n"
            f"inspector = Inspector.open(model_dir={str(trained_tiny)!r})\n"
            "print(inspector.inspect(np.zeros((40, 48), np.uint8)).mask.shape)\n")
    inspected = subprocess.run([sys.executable, "-c", code], **run)
    assert inspected.returncode == 0, inspected.stderr
    assert inspected.stdout.strip().endswith("(40, 48)")
    reference = subprocess.run([sys.executable, "-m", "unet_defects.run", "--help"], **run)
    assert reference.returncode == 0 and "--mode" in reference.stdout, reference.stderr
