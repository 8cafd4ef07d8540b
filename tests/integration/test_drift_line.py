"""Drift on the line with the session's tiny model: training wrote the input reference, and with
a validation part its score reference (calibrate too; without one, neither), an export carries
it; against what training wrote, a stream of the training images shows no drift of its inputs,
the same stream darkened by 30 % raises one warning naming mean gray, and a stream flagging five
times the reference's share raises one naming the flagged share, the inputs calm.

The references are small (the tiny dataset's 6 to 12 images), so the bounds are raised past
the calm PSI the rule of docs/serve.md gives them: a statistic under it is not judged."""

import json
import shutil

import numpy as np
import pytest

from tests.conftest import unet_in_process
from unet_defects.adapters.drift_files import REFERENCE_FILE, FileDriftReferences
from unet_defects.adapters.images import read_gray
from unet_defects.api import Inspector
from unet_defects.application.drift_recording import NO_HELD_OUT, DriftRecorder
from unet_defects.domain.drift import FLAGGED, INPUT_STATISTICS, MEAN_GRAY, PART_SCORE, SCORE_STATISTICS

pytestmark = pytest.mark.slow

WINDOW = 120  # the test's window: ten passes over the twelve training images
MIN_IMAGES = 60
# Over halves, a reference of 6 against 60 images stays under 10.83 * (1/6 + 1/60) = 1.99 when
# calm; the size's three bins (under, at and over the one size) under 13.82 * (1/6 + 1/60) = 2.53.
BOUND = 3.0


@pytest.fixture(scope="module")
def training(tiny_dagm) -> list[np.ndarray]:
    return [read_gray(path) for path in sorted((tiny_dagm / "Class1" / "Train").glob("*.PNG"))]


@pytest.fixture(scope="module")
def class_images(tiny_dagm) -> list[np.ndarray]:
    """Class 1's training and test images: one kind of part, as the model was trained on."""
    return [read_gray(path) for path in sorted(tiny_dagm.glob("Class1/*/*.PNG"))]


@pytest.fixture(scope="module")
def validated(tiny_dagm, tmp_path_factory):
    """The tiny config trained and evaluated with half its training images held out: the
    reference as training writes it, inputs and scores."""
    from tests.conftest import tiny_params
    from unet_defects.container import build_container

    model_dir = tmp_path_factory.mktemp("validated") / "model"
    params = tiny_params(tiny_dagm, model_dir, max_steps=12, save_checkpoints_steps=12)
    params["train_input"]["validation_split"] = 0.5
    build_container(params).train_and_evaluate().execute()
    return model_dir


def copied(trained_tiny, tmp_path_factory, name: str):
    target = tmp_path_factory.mktemp(name) / "model"
    shutil.copytree(trained_tiny, target)
    return target


def write_scores(model_dir, inspector: Inspector, images: list[np.ndarray], source: str) -> None:
    """A score reference as evaluation writes one: these parts' scores and verdicts."""
    found = inspector.inspect_many(images)
    DriftRecorder(FileDriftReferences(str(model_dir))).record_scores(
        [f.score for f in found], [f.defective for f in found], source)


def stream(images: list[np.ndarray], count: int, batch: int = 6):
    cycle = [images[i % len(images)] for i in range(count)]
    return [cycle[start:start + batch] for start in range(0, count, batch)]


def test_training_wrote_the_input_reference_and_an_old_model_dir_still_inspects(trained_tiny, tmp_path_factory):
    reference = FileDriftReferences(str(trained_tiny)).load()
    assert reference.inputs.source == "the training images (all 12)" and reference.scores is None
    old = copied(trained_tiny, tmp_path_factory, "old")
    (old / REFERENCE_FILE).unlink()  # as a model_dir trained before drift was measured
    inspector = Inspector.open(model_dir=str(old), drift_window=10, drift_min_images=5)
    inspector.inspect_many([np.full((32, 32), 100, np.uint8)] * 12)
    figures = inspector.drift()
    assert figures.reference is None and not figures.judged and figures.images == 10
    assert "this model has no drift reference" in figures.note


def test_calibrate_writes_the_score_reference_of_a_validation_part_only_and_an_export_carries_it(
        trained_tiny, validated, tmp_path_factory):
    plain = copied(trained_tiny, tmp_path_factory, "plain")  # no validation part: its evaluation images are the test's
    result = unet_in_process("calibrate", "--model_dir", str(plain))
    assert result.returncode == 0, result.stderr
    assert NO_HELD_OUT in result.stdout and FileDriftReferences(str(plain)).load().scores is None
    model_dir = copied(validated, tmp_path_factory, "calibrated")
    (model_dir / REFERENCE_FILE).write_text(json.dumps({"version": 1}))  # calibrate writes the scores anew
    result = unet_in_process("calibrate", "--model_dir", str(model_dir))
    assert result.returncode == 0, result.stderr
    saved = FileDriftReferences(str(model_dir)).load()
    assert saved.scores.source.startswith("6 calibration images (")
    export = model_dir.parent / "export"
    exported = unet_in_process("export", "--model_dir", str(model_dir), "--output", str(export))
    assert exported.returncode == 0, exported.stderr
    manifest = json.loads((export / "unet_export.json").read_text())
    assert manifest["drift_reference"] == saved.as_dict()
    assert Inspector.open(export=str(export)).drift().reference == saved.describe()
    del manifest["drift_reference"]  # an export made before drift was measured reads as before
    (export / "unet_export.json").write_text(json.dumps(manifest))
    assert Inspector.open(export=str(export)).drift().reference is None


def test_the_training_images_show_no_drift_of_their_inputs_and_darkened_by_30_percent_raise_one_warning(
        validated, training):
    reference = FileDriftReferences(str(validated)).load()
    assert reference.inputs.source == "the training images (all 6)"
    assert reference.scores.source.startswith("6 validation images at step 12")
    heard: list[str] = []
    inspector = Inspector.open(model_dir=str(validated), drift_window=WINDOW, drift_min_images=MIN_IMAGES,
                               drift_bounds=BOUND, on_drift=heard.append)
    verdicts = []
    for batch in stream(training, WINDOW):
        verdicts += [found.defective for found in inspector.inspect_many(batch)]
    calm = inspector.drift()
    assert calm.judged and heard == [] and not set(calm.drifted) & set(INPUT_STATISTICS)
    assert [calm.statistic(name).bins for name in INPUT_STATISTICS] == [2, 2, 3]
    # The scores: the training parts against the validation parts, what the window holds.
    held = reference.distributions()
    for name in SCORE_STATISTICS:
        shown = calm.statistic(name)
        assert shown.reference == pytest.approx(held[name].mean) and shown.bins is not None
    flagged = calm.statistic(FLAGGED)
    assert flagged.window == pytest.approx(np.mean(verdicts))
    assert flagged.psi == pytest.approx(held[FLAGGED].psi(np.array(verdicts, float)), abs=1e-6)
    assert (FLAGGED in calm.drifted) == (flagged.psi > BOUND)
    assert calm.statistic(PART_SCORE).psi is not None
    dark = [(image * 0.7).astype(np.uint8) for image in training]
    for count, batch in enumerate(stream(dark, WINDOW), start=1):
        inspector.inspect_many(batch)
        if heard:
            break
    assert len(heard) == 1 and heard[0].startswith("drift: mean_gray PSI ")
    # Within one window: over halves a shift passes a bound of 3 once nearly all of it is dark
    # (a larger reference, judged over finer bins, hears it sooner).
    assert count * 6 <= WINDOW
    for batch in stream(dark, WINDOW):
        inspector.inspect_many(batch)
    assert len(heard) == 1  # one line, not one per request
    moved = inspector.drift()
    assert MEAN_GRAY in moved.drifted
    assert moved.statistic(MEAN_GRAY).window < 0.75 * moved.statistic(MEAN_GRAY).reference


def test_five_times_the_reference_share_of_flagged_parts_raises_the_warning(trained_tiny, tmp_path_factory,
                                                                          class_images):
    model_dir = copied(trained_tiny, tmp_path_factory, "flagged")
    scores = np.array([f.score for f in Inspector.open(model_dir=str(model_dir), drift_window=0)
                       .inspect_many(class_images)])
    threshold = float(np.sort(scores)[len(scores) // 2])  # the upper half's parts have a pixel above it
    judge = Inspector.open(model_dir=str(model_dir), threshold=threshold, drift_window=0)
    verdicts = [f.defective for f in judge.inspect_many(class_images)]
    bad = [image for image, flagged in zip(class_images, verdicts) if flagged]
    good = [image for image, flagged in zip(class_images, verdicts) if not flagged]
    assert bad and good
    reference = [bad[i % len(bad)] if i % 20 == 0 else good[i % len(good)] for i in range(100)]  # 5 % flagged
    write_scores(model_dir, judge, reference, "a reference of 5 % flagged parts")
    heard: list[str] = []
    # The inputs' reference is the 12 training images: calm under 10.83 * (1/12 + 1/100) = 1.01 over
    # halves, 13.82 * (1/12 + 1/100) = 1.29 over the size's three bins.
    bounds = {**dict.fromkeys(INPUT_STATISTICS, 1.5), **dict.fromkeys(SCORE_STATISTICS, 0.25)}
    line = Inspector.open(model_dir=str(model_dir), threshold=threshold, drift_window=100, drift_min_images=100,
                          drift_bounds=bounds, on_drift=heard.append)
    line.inspect_many([bad[i % len(bad)] if i % 4 == 0 else good[i % len(good)] for i in range(100)])  # 25 %
    figures = line.drift()
    assert figures.statistic(FLAGGED).window == pytest.approx(0.25)
    assert figures.statistic(FLAGGED).reference == pytest.approx(0.05)
    assert FLAGGED in figures.drifted and len(heard) == 1 and "flagged_share PSI" in heard[0]
    assert set(figures.drifted) <= set(SCORE_STATISTICS)  # the inputs stayed calm
    assert all(figures.statistic(name).bins is not None for name in INPUT_STATISTICS)
    assert "mean_gray" not in heard[0] and "exposure_spread" not in heard[0]
