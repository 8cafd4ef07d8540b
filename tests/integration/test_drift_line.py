"""Drift on the line with the session's tiny model: training wrote the input reference, calibrate
the score reference, an export carries it; a stream of the training images shows no drift, the
same stream darkened by 30 % raises one warning naming mean gray, and a stream flagging five
times the reference's share raises one naming the flagged share."""

import json
import shutil

import numpy as np
import pytest

from tests.conftest import unet_in_process
from unet_defects.adapters.drift_files import REFERENCE_FILE, FileDriftReferences
from unet_defects.adapters.images import read_gray
from unet_defects.api import Inspector
from unet_defects.application.drift_recording import DriftRecorder
from unet_defects.domain.drift import FLAGGED, MEAN_GRAY

pytestmark = pytest.mark.slow

WINDOW = 120  # the test's window: ten passes over the twelve training images
MIN_IMAGES = 60


@pytest.fixture(scope="module")
def training(tiny_dagm) -> list[np.ndarray]:
    return [read_gray(path) for path in sorted((tiny_dagm / "Class1" / "Train").glob("*.PNG"))]


@pytest.fixture(scope="module")
def every_image(tiny_dagm) -> list[np.ndarray]:
    return [read_gray(path) for path in sorted(tiny_dagm.glob("Class*/*/*.PNG"))]


def copied(trained_tiny, tmp_path_factory, name: str):
    target = tmp_path_factory.mktemp(name) / "model"
    shutil.copytree(trained_tiny, target)
    return target


def write_scores(model_dir, inspector: Inspector, images: list[np.ndarray], source: str) -> None:
    """A score reference as evaluation writes one: these parts' scores and verdicts."""
    found = inspector.inspect_many(images)
    DriftRecorder(FileDriftReferences(str(model_dir))).record_scores(
        [f.score for f in found], [f.defective for f in found], source)


@pytest.fixture(scope="module")
def referenced(trained_tiny, tmp_path_factory, training):
    """The tiny model with a score reference taken on its own training images."""
    model_dir = copied(trained_tiny, tmp_path_factory, "referenced")
    write_scores(model_dir, Inspector.open(model_dir=str(model_dir), drift_window=0), training, "the training images")
    return model_dir


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


def test_calibrate_writes_the_score_reference_and_an_export_carries_it(trained_tiny, tmp_path_factory):
    model_dir = copied(trained_tiny, tmp_path_factory, "calibrated")
    result = unet_in_process("calibrate", "--model_dir", str(model_dir))
    assert result.returncode == 0, result.stderr
    saved = FileDriftReferences(str(model_dir)).load()
    assert saved.inputs is not None and saved.scores.source.startswith("5 calibration images (")
    export = model_dir.parent / "export"
    exported = unet_in_process("export", "--model_dir", str(model_dir), "--output", str(export))
    assert exported.returncode == 0, exported.stderr
    manifest = json.loads((export / "unet_export.json").read_text())
    assert manifest["drift_reference"] == saved.as_dict()
    assert Inspector.open(export=str(export)).drift().reference == saved.describe()
    del manifest["drift_reference"]  # an export made before drift was measured reads as before
    (export / "unet_export.json").write_text(json.dumps(manifest))
    assert Inspector.open(export=str(export)).drift().reference is None


def test_the_training_images_show_no_drift_and_darkened_by_30_percent_raise_one_warning(referenced, training):
    heard: list[str] = []
    inspector = Inspector.open(model_dir=str(referenced), drift_window=WINDOW, drift_min_images=MIN_IMAGES,
                               on_drift=heard.append)
    for batch in stream(training, WINDOW):
        inspector.inspect_many(batch)
    calm = inspector.drift()
    assert calm.judged and calm.drifted == () and heard == []
    assert max(s.psi for s in calm.statistics) < 0.05
    dark = [(image * 0.7).astype(np.uint8) for image in training]
    for count, batch in enumerate(stream(dark, WINDOW), start=1):
        inspector.inspect_many(batch)
        if heard:
            break
    assert len(heard) == 1 and heard[0].startswith("drift: mean_gray PSI ")
    assert count * 6 < WINDOW  # within the window
    for batch in stream(dark, WINDOW):
        inspector.inspect_many(batch)
    assert len(heard) == 1  # one line, not one per request
    moved = inspector.drift()
    assert MEAN_GRAY in moved.drifted
    assert moved.statistic(MEAN_GRAY).window < 0.75 * moved.statistic(MEAN_GRAY).reference


def test_five_times_the_reference_share_of_flagged_parts_raises_the_warning(trained_tiny, tmp_path_factory,
                                                                          every_image):
    model_dir = copied(trained_tiny, tmp_path_factory, "flagged")
    scores = np.array([f.score for f in Inspector.open(model_dir=str(model_dir), drift_window=0)
                       .inspect_many(every_image)])
    threshold = float(np.sort(scores)[len(scores) // 2])  # the upper half's parts have a pixel above it
    judge = Inspector.open(model_dir=str(model_dir), threshold=threshold, drift_window=0)
    verdicts = [f.defective for f in judge.inspect_many(every_image)]
    bad = [image for image, flagged in zip(every_image, verdicts) if flagged]
    good = [image for image, flagged in zip(every_image, verdicts) if not flagged]
    assert bad and good
    reference = [bad[i % len(bad)] if i % 20 == 0 else good[i % len(good)] for i in range(100)]  # 5 % flagged
    write_scores(model_dir, judge, reference, "a reference of 5 % flagged parts")
    heard: list[str] = []
    line = Inspector.open(model_dir=str(model_dir), threshold=threshold, drift_window=100, drift_min_images=100,
                          on_drift=heard.append)
    line.inspect_many([bad[i % len(bad)] if i % 4 == 0 else good[i % len(good)] for i in range(100)])  # 25 %
    figures = line.drift()
    assert figures.statistic(FLAGGED).window == pytest.approx(0.25)
    assert figures.statistic(FLAGGED).reference == pytest.approx(0.05)
    assert FLAGGED in figures.drifted and len(heard) == 1 and "flagged_share PSI" in heard[0]
