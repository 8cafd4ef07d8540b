"""What a one-class model writes, held against files recorded before the one-shape refactor:
results.json, calibration.json, predictions.jsonl, unet_export.json and the server's
/v1/inspect answer, for a seeded tiny model without and with a classifier head (and its gate).

Keys, their order, strings, booleans and nulls must match exactly; numbers within a tolerance,
because the recorded figures came from one CPU and another CPU's kernels round differently.
On the recording CPU they match byte for byte (time and duration fields aside).
`UNET_RECORD_GOLDEN=1 pytest tests/e2e/test_golden_outputs.py` records them again;
`UNET_GOLDEN_EXACT=1` compares the text byte for byte (on the recording CPU)."""

import http.client
import json
import math
import os
import re
import shutil
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import tiny_params, unet_in_process

GOLDEN = Path(__file__).resolve().parents[1] / "golden"
RECORD = os.environ.get("UNET_RECORD_GOLDEN") == "1"
EXACT = os.environ.get("UNET_GOLDEN_EXACT") == "1"
# Words of the field names that hold a clock reading, a duration or a speed (time_ms,
# train_seconds, ...): they differ on every run. Whole words: "candidates" is not a date.
VOLATILE = ("seconds", "time", "ms", "date", "duration", "elapsed", "written", "created")


def volatile(key: str) -> bool:
    return any(word in VOLATILE for word in key.split("_"))

pytestmark = pytest.mark.slow


def normalized(value, root: str):
    """The value with its temporary folder named <ROOT> and clock fields set aside."""
    if isinstance(value, dict):
        return {key: ("<volatile>" if volatile(key) else normalized(item, root))
                for key, item in value.items()}
    if isinstance(value, list):
        return [normalized(item, root) for item in value]
    if isinstance(value, str):
        return value.replace(root, "<ROOT>")
    return value


def masked(text: str) -> str:
    """Raw text with the volatile fields' values replaced (for the byte comparison)."""
    keys = "|".join(VOLATILE)
    return re.sub(rf'("(?:[a-z]+_)*(?:{keys})(?:_[a-z]+)*": )[^,}}\n]*', r"\1<volatile>", text)


# What a decision or a shape holds is exact on every CPU; scores and pixel counts are not.
EXACT_KEYS = {"threshold", "min_area", "area_at", "area_bar", "step", "global_step", "num_images", "input_size",
              "channels", "stride", "manifest_version", "class_id", "height", "width", "normalization"}


def assert_same(found, expected, where: str = "") -> None:
    """Exact for structure, text and the decisions (EXACT_KEYS, in any record); other numbers
    within 2 % or 0.02 (scores and counts of pixels near the threshold move a little between
    CPUs)."""
    if isinstance(expected, dict):
        assert isinstance(found, dict), f"{where}: {found!r} is not an object"
        assert list(found) == list(expected), f"{where}: keys {list(found)} != {list(expected)}"
        for key in expected:
            assert_same(found[key], expected[key], f"{where}.{key}")
    elif isinstance(expected, list):
        assert isinstance(found, list) and len(found) == len(expected), f"{where}: {found!r} != {expected!r}"
        for index, (a, b) in enumerate(zip(found, expected)):
            assert_same(a, b, f"{where}[{index}]")
    elif isinstance(expected, bool) or expected is None or isinstance(expected, str):
        assert found == expected, f"{where}: {found!r} != {expected!r}"
    else:
        assert type(found) is type(expected), f"{where}: {found!r} is not a {type(expected).__name__}"
        exact = where.rsplit(".", 1)[-1].split("[")[0] in EXACT_KEYS
        if exact:
            assert found == expected, f"{where}: {found} != {expected}"
        else:
            assert math.isclose(found, expected, rel_tol=0.02, abs_tol=0.02), f"{where}: {found} != {expected}"


def post_png(address: str, path: str, body: bytes) -> dict:
    host, port = address.split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=60)
    try:
        connection.request("POST", path, body=body, headers={"Content-Type": "image/png"})
        response = connection.getresponse()
        assert response.status == 200
        return json.loads(response.read())
    finally:
        connection.close()


def outputs(model: Path, dataset: Path, root: Path) -> dict[str, str]:
    """Every file a one-class model writes, as text, for a model_dir under root."""
    from unet_defects.adapters.images import png_bytes, write_png
    from unet_defects.api import Inspector
    from unet_defects.serving.runner import serving_in_thread
    from unet_defects.serving.settings import ServeSettings

    params = str(model / "params.yaml")
    for args in (("run", "--params", params, "--model_dir", str(model), "--mode", "eval"),
                 ("calibrate", "--model_dir", str(model)),
                 ("export", "--model_dir", str(model), "--output", str(root / "export"))):
        result = unet_in_process(*args)
        assert result.returncode == 0, result.stderr
    images = root / "images"
    images.mkdir()
    import imageio.v3 as iio

    tests = sorted((dataset / "Class1" / "Test").glob("*.PNG"))[:3]
    # Larger than the 32x32 training crop: two test images side by side, then shifted down.
    pictures = [np.vstack([np.hstack([iio.imread(a), iio.imread(b)])] * 2)[8:56] for a, b in zip(tests, tests[1:] + tests[:1])]
    for index, picture in enumerate(pictures):
        write_png(images / f"part{index}.png", picture)
    result = unet_in_process("predict", "--model_dir", str(model), "--input", str(images), "--output", str(root / "out"))
    assert result.returncode == 0, result.stderr
    pytest.importorskip("starlette")
    with serving_in_thread(Inspector.open(model_dir=str(model)), ServeSettings(max_delay_ms=2)) as address:
        answers = [post_png(address, "/v1/inspect", png_bytes(picture)) for picture in pictures]
    return {
        "results.json": (model / "eval" / "results.json").read_text(),
        "calibration.json": (model / "calibration.json").read_text(),
        "predictions.jsonl": (root / "out" / "predictions.jsonl").read_text(),
        "unet_export.json": (root / "export" / "unet_export.json").read_text(),
        "inspect.jsonl": "".join(json.dumps(answer) + "\n" for answer in answers),
    }


def parsed(name: str, text: str, root: str):
    if name.endswith(".jsonl"):
        return [normalized(json.loads(line), root) for line in text.splitlines()]
    return normalized(json.loads(text), root)


@pytest.fixture(scope="module")
def models(tiny_dagm, tmp_path_factory) -> dict[str, Path]:
    """The tiny config trained until its probabilities leave 0.5 (so another CPU's rounding
    moves few pixels across the threshold): plain, and with a classifier head and its gate."""
    from unet_defects.container import build_container

    root = tmp_path_factory.mktemp("golden")
    made = {}
    for variant in ("plain", "head"):
        params = tiny_params(tiny_dagm, root / variant, max_steps=120, save_checkpoints_steps=60)
        params["optimizer"]["learning_rate"] = 0.003
        if variant == "head":
            params["model"].update(classifier_head=True, classifier_loss_weight=1.0, decision_gate="classifier")
        build_container(params).train().execute()
        made[variant] = root / variant
    return made


@pytest.mark.parametrize("variant", ["plain", "head"])
def test_a_one_class_model_writes_what_it_wrote_before(variant, models, tiny_dagm, tmp_path):
    model = tmp_path / "model"
    shutil.copytree(models[variant], model)
    written = outputs(model, tiny_dagm, tmp_path)
    folder = GOLDEN / variant
    if RECORD:
        folder.mkdir(parents=True, exist_ok=True)
        for name, text in written.items():
            (folder / name).write_text(json.dumps(parsed(name, text, str(tmp_path)), indent=1) + "\n")
            (folder / f"{name}.raw").write_text(text.replace(str(tmp_path), "<ROOT>"))  # for a byte diff
        pytest.skip(f"recorded {folder}")
    for name, text in written.items():
        expected = json.loads((folder / name).read_text())
        assert_same(parsed(name, text, str(tmp_path)), expected, f"{variant}/{name}")
        if EXACT:
            raw = (folder / f"{name}.raw").read_text()
            assert masked(text.replace(str(tmp_path), "<ROOT>")) == masked(raw), f"{variant}/{name} differs"
