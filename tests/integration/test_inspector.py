"""The Inspector against `unet predict` on the same folder, from several threads, and on bad
input; predictions.jsonl read back."""

import json
import threading

import imageio.v3 as iio
import numpy as np
import pytest

from unet_defects.api import Inspector
from unet_defects.application.options import InferenceOptions
from unet_defects.container import build_container
from unet_defects.domain.errors import UnetError

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    """Gray images of several sizes, one stored as RGB and one as 16 bits."""
    rng = np.random.default_rng(4)
    root = tmp_path_factory.mktemp("parts")
    images = {
        "a.png": rng.integers(0, 256, (32, 32), dtype=np.uint8),
        "b.png": rng.integers(0, 256, (45, 70), dtype=np.uint8),
        "c.png": rng.integers(0, 256, (20, 24, 3), dtype=np.uint8),
        "d.png": rng.integers(0, 65536, (40, 40), dtype=np.uint16),
    }
    for name, image in images.items():
        iio.imwrite(root / name, image)
    return root, images


@pytest.fixture(scope="module")
def onnx_export(tiny_exports):
    pytest.importorskip("onnxruntime")
    return tiny_exports["onnx"]


def predicted(trained_tiny, folder, out, options: InferenceOptions, model_dir=True):
    container = build_container(str(trained_tiny / "params.yaml"), {"model_dir": str(trained_tiny)})
    report = container.predict().execute([str(folder)], str(out), options, save_probabilities=True)
    assert report.images_done == 4 and not report.failures
    return report


CASES = {
    "checkpoint": {},
    "min_area": {"min_area": 6, "threshold": 0.45},
    "tta": {"tta": "flip"},
    "native": {"geometry": "native", "min_area": 3},
}


@pytest.mark.parametrize("case", [*CASES, "onnx", "onnx-tta"])
def test_inspect_gives_predicts_probabilities_masks_and_lines(trained_tiny, folder, onnx_export, tmp_path, case):
    root, images = folder
    flags = dict(CASES.get(case, {"min_area": 4} if case == "onnx" else {"tta": "flip"}))
    if case.startswith("onnx"):
        inspector = Inspector.open(export=str(onnx_export), engine="onnxruntime", **flags)
        flags.update(engine="onnxruntime", model=str(onnx_export))
    else:
        inspector = Inspector.open(model_dir=str(trained_tiny), **flags)
    report = predicted(trained_tiny, root, tmp_path, InferenceOptions(**flags))
    assert report.source == inspector.session.source
    lines = {row["file"]: row for row in map(json.loads, (tmp_path / "predictions.jsonl").read_text().splitlines())}
    threshold = inspector.session.decision.threshold
    for name, image in images.items():
        result = inspector.inspect(image)
        stem = name[:-4]
        written = iio.imread(tmp_path / f"{stem}_probability.png").astype(np.float64) / 65535
        assert result.probabilities.shape == result.mask.shape == image.shape[:2]
        assert np.abs(result.probabilities - written).max() <= 2 / 65535
        mask = iio.imread(tmp_path / f"{stem}_mask.png") > 0
        decided = np.abs(result.probabilities - threshold) > 1e-4
        np.testing.assert_array_equal(result.mask[decided], mask[decided])
        line = lines[str(root / name)]
        assert line["threshold"] == threshold
        assert (line["defective"], len(line["defects"])) == (result.defective, len(result.defects))
        assert line["score"] == pytest.approx(result.score, abs=1e-6)
        if result.defects:
            assert line["defects"][0] == result.defects[0].as_dict()
            assert result.defects[0].area == max(defect.area for defect in result.defects)
            assert sum(defect.area for defect in result.defects) == int(result.mask.sum())


def test_inspect_many_batches_and_threads_get_their_own_answers(trained_tiny):
    inspector = Inspector.open(model_dir=str(trained_tiny))
    rng = np.random.default_rng(8)
    images = [rng.integers(0, 256, (32, 32), dtype=np.uint8) for _ in range(40)]
    alone = [inspector.inspect(image) for image in images]
    many = inspector.inspect_many(images)
    for one, batched in zip(alone, many):
        np.testing.assert_allclose(one.probabilities, batched.probabilities, atol=1e-6)
    results: dict[int, object] = {}

    def work(start: int) -> None:
        for index in range(start, 40, 8):
            results[index] = inspector.inspect(images[index])

    threads = [threading.Thread(target=work, args=(start,)) for start in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == list(range(40))
    for index, result in results.items():
        np.testing.assert_allclose(result.probabilities, alone[index].probabilities, atol=1e-6)
        np.testing.assert_array_equal(result.mask, alone[index].mask)


BAD = {
    "float64": (np.zeros((8, 8)), "dtype float64"),
    "bool": (np.zeros((8, 8), bool), "dtype bool"),
    "five channels": (np.zeros((8, 8, 5), np.uint8), "expected H x W"),
    "four dimensions": (np.zeros((1, 8, 8, 1), np.uint8), "expected H x W"),
    "empty": (np.zeros((0, 8), np.uint8), "holds no pixels"),
    "nan": (np.full((8, 8), np.nan, np.float32), "dtype float32"),
    "list": ([[0, 1], [2, 3]], "expected a numpy array"),
    "too large": (np.zeros((101, 100), np.uint8), "more than the inspector's limit of 10,000"),
}


def test_bad_arrays_are_one_line_errors_and_the_next_call_works(trained_tiny):
    inspector = Inspector.open(model_dir=str(trained_tiny), max_pixels=10_000)
    good = np.zeros((32, 32), np.uint8)
    first = inspector.inspect(good)
    for name, (image, message) in BAD.items():
        with pytest.raises(ValueError, match=message) as raised:
            inspector.inspect(image)
        assert "\n" not in str(raised.value), name
        np.testing.assert_array_equal(inspector.inspect(good).probabilities, first.probabilities)


def test_open_refuses_what_it_cannot_open_in_one_line(trained_tiny, tmp_path):
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "unet_export.json").write_text("{not json")
    cases = [({}, "give one of model_dir"), ({"model_dir": str(trained_tiny), "export": "x"}, "give one of"),
             ({"model_dir": str(tmp_path / "missing")}, "no params.yaml"),
             ({"export": str(tmp_path / "missing")}, "no such export folder"),
             ({"export": str(tmp_path / "broken")}, "not JSON"),
             ({"model_dir": str(trained_tiny), "tta": "spin"}, "unknown mode")]
    for arguments, message in cases:
        with pytest.raises(UnetError, match=message) as raised:
            Inspector.open(**arguments)
        assert "\n" not in str(raised.value)
