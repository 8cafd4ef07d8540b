"""`unet plan` as a user types it: bad folders refused in one line, and a plan that then runs
with no other setting, its validation part choosing the checkpoint and the test images scored
at the end."""

import json

import imageio.v3 as iio
import numpy as np
import pytest
import yaml

from tests.conftest import unet_in_process as unet
from tests.e2e.test_cli import one_line_error
from unet_defects.adapters.datasets.synthetic_rare import SyntheticRareSpec, generate
from unet_defects.domain.durations import parse_duration


def folder(root, count=24, defective=8, mask=None, size=(40, 56)):
    (root / "images").mkdir(parents=True)
    (root / "masks").mkdir()
    rng = np.random.default_rng(0)
    for index in range(count):
        iio.imwrite(root / "images" / f"p{index:03d}.png", rng.integers(60, 200, size, dtype=np.uint8))
        drawn = np.zeros(size, np.uint8)
        if index < defective:
            drawn[10:16, 20:30] = 255
        iio.imwrite(root / "masks" / f"p{index:03d}.png", drawn if mask is None else mask(index, drawn))
    return root


def refused(result) -> str:
    line = one_line_error(result)
    assert "Traceback" not in result.stderr
    return line


def test_a_folder_without_masks_is_refused(tmp_path):
    folder(tmp_path / "d")
    for path in (tmp_path / "d" / "masks").iterdir():
        path.unlink()
    (tmp_path / "d" / "masks").rmdir()
    assert "masks: not found; a plan needs masks" in refused(unet("plan", str(tmp_path / "d")))


def test_masks_that_are_pictures_are_refused(tmp_path):
    picture = lambda index, drawn: (np.arange(40 * 56).reshape(40, 56) % 256).astype(np.uint8)  # noqa: E731
    folder(tmp_path / "d", mask=picture)
    result = unet("plan", str(tmp_path / "d"))
    assert "masks hold neither two levels nor class labels" in refused(result)
    assert "training images" in result.stderr  # it said what it found first


def test_a_mask_of_another_size_is_refused_naming_the_file(tmp_path):
    folder(tmp_path / "d", mask=lambda index, drawn: drawn[:20] if index == 3 else drawn)
    assert "p003.png: mask is 56x20 but its image is 56x40" in refused(unet("plan", str(tmp_path / "d")))


def test_five_images_are_too_few_to_plan(tmp_path):
    folder(tmp_path / "d", count=5, defective=2)
    result = unet("plan", str(tmp_path / "d"))
    assert "a plan needs at least 20" in refused(result)
    assert "unet: 4 training images, " in result.stderr  # the seeded 80 % of 5


def typed(index, drawn):
    """Label masks of three types, one per defective image in turn."""
    return (drawn > 0).astype(np.uint8) * (index % 3 + 1)


def test_label_masks_that_cannot_be_trained_on_are_refused_naming_the_file_and_the_values(tmp_path):
    folder(tmp_path / "unnamed", mask=typed)
    (tmp_path / "unnamed" / "classes.txt").write_text("scratch\ndent\n")
    line = refused(unet("plan", str(tmp_path / "unnamed")))
    assert "label value 3 is not named in" in line and "classes.txt (2 names, for values 1..2)" in line
    folder(tmp_path / "repeated", mask=typed)
    (tmp_path / "repeated" / "classes.txt").write_text("scratch\ndent\nscratch\n")
    assert "classes.txt: line 3 repeats the name 'scratch' of line 1" in refused(unet("plan", str(tmp_path / "repeated")))
    folder(tmp_path / "mixed", mask=lambda index, drawn: drawn if index == 0 else typed(index, drawn))
    assert "some masks are label images" in refused(unet("plan", str(tmp_path / "mixed")))

    def smeared(index, drawn):  # a JPEG-like edge: 1 and 2 around a square of 3
        mask = np.zeros_like(drawn)
        if index < 8:
            mask[8:18, 18:32], mask[9:17, 19:31], mask[10:16, 20:30] = 1, 2, 3
        return mask

    folder(tmp_path / "lossy", mask=smeared)
    assert "a label mask that looks saved lossily" in refused(unet("plan", str(tmp_path / "lossy")))


@pytest.mark.slow
def test_plan_then_run_needs_no_other_setting(tmp_path):
    data = tmp_path / "rare"
    generate(SyntheticRareSpec(images=80, seed=4), data)
    plan_path = tmp_path / "plan.yaml"
    planned = unet("plan", str(data), "--budget", "40s", "--output", str(plan_path))
    assert planned.returncode == 0, planned.stderr
    assert f"wrote {plan_path}" in planned.stdout and "80 %" not in planned.stdout
    text = plan_path.read_text()
    assert "# What the dataset is like:" in text
    params = yaml.safe_load(text)
    # Training stops before the budget ends: its last seconds calibrate and score the test images.
    assert parse_duration(params["runconfig"]["time_budget"]) < 40 and "calibrate and score the test images" in text
    assert params["model"]["classifier_head"] is True and params["runconfig"]["calibrate"] is True
    params["runconfig"]["model_dir"] = str(tmp_path / "model")  # keep the test's files in its folder
    (tmp_path / "plan_here.yaml").write_text(yaml.safe_dump(params))
    ran = unet("run", "-p", str(tmp_path / "plan_here.yaml"))
    assert ran.returncode == 0, ran.stderr
    assert "validation at step" in ran.stderr and "projected end" in ran.stderr
    assert "test at step" in ran.stdout
    results = json.loads((tmp_path / "model" / "eval" / "results.json").read_text())
    assert results["split"] == "test" and results["validation"]["split"] == "validation"
    assert results["num_images"] == 16 and results["validation"]["num_images"] == 13  # 80: 20 % test, then 20 %
    # The plan keeps no "best" checkpoint: the test scores the last one, trained to the end of its schedule.
    steps = [json.loads(path.read_text())["global_step"] for path in (tmp_path / "model" / "eval").glob("results-*.json")]
    assert results["global_step"] == max(steps) and not (tmp_path / "model" / "best").exists()
    report = unet("report", "--model_dir", str(tmp_path / "model"))
    assert report.returncode == 0, report.stderr
    assert "validation scores" in report.stdout and "test scores" in report.stdout
    # The decision was calibrated on the validation part before the test: the test, predict and
    # the Inspector all use calibration.json, and rank parts by the head's probability.
    calibration = json.loads((tmp_path / "model" / "calibration.json").read_text())
    assert "13 evaluation images" in calibration["chosen_on"] and "gate" in calibration
    assert "calibrated the decision on 13 validation images" in ran.stderr
    assert results["decision"].endswith("calibration.json") and results["validation"]["decision"] == results["decision"]
    assert results["image_AUROC_score"] == "classifier" and "image_AUROC_max_probability" in results
    assert results["operating_point"]["defective_parts"] + results["operating_point"]["good_parts"] == 16
    assert "  the line: finds " in ran.stdout
    predicted = unet("predict", "--model_dir", str(tmp_path / "model"), "--input", str(data / "images"), "--output",
                     str(tmp_path / "out"))
    assert predicted.returncode == 0, predicted.stderr
    lines = [json.loads(line) for line in (tmp_path / "out" / "predictions.jsonl").read_text().splitlines()]
    assert {line["threshold"] for line in lines} == {calibration["threshold"]}
    assert {line["gate"]["threshold"] for line in lines} == {calibration["gate"]["threshold"]}
    from unet_defects.api import Inspector

    inspector = Inspector.open(model_dir=str(tmp_path / "model"))
    assert inspector.session.decision.origin.endswith("calibration.json")
    first = lines[0]
    found = inspector.inspect(iio.imread(data / "images" / first["file"]))
    assert found.score == pytest.approx(first["score"], abs=1e-6) and found.defective == first["defective"]
    assert found.score == pytest.approx(first["classifier"][0], abs=1e-6)  # the part score is the head's
