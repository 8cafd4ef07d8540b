"""calibration.json and unet_export.json read back strictly: one line naming the file."""

import json

import pytest

from unet_defects.adapters.calibration_file import JsonCalibrationStore
from unet_defects.adapters.runtimes.manifest import read_manifest, write_manifest
from unet_defects.application.values import ExportManifest
from unet_defects.domain.calibration import Calibration, CandidateScores
from unet_defects.domain.decision import Decision
from unet_defects.domain.errors import DataError

MANIFEST = ExportManifest(format="onnx", model_file="model.onnx", step=3, input_size=(64, 64), channels=1,
                          normalization=(1 / 255, 0.0), threshold=0.4, min_area=12, area_at=(64, 64), tta="flip")


def test_calibration_round_trips_and_is_absent_until_written(tmp_path):
    store = JsonCalibrationStore(str(tmp_path))
    assert store.load() is None
    scores = CandidateScores(0.4, 12, 0.7, 1.0, 0.5, 0.6667)
    calibration = Calibration(Decision(0.4, 12, (64, 64)), chosen_on="5 images", before=scores, after=scores)
    assert store.save([calibration], [[scores.as_dict()]]) == str(tmp_path / "calibration.json")
    assert store.load() == (calibration,)
    assert set(json.loads((tmp_path / "calibration.json").read_text())) >= {"threshold", "min_area", "candidates"}


def test_a_calibration_of_several_classes_round_trips_and_must_match_the_models_classes(tmp_path):
    store = JsonCalibrationStore(str(tmp_path))
    chosen = (Calibration(Decision(0.3, 0, class_id=1, name="crack")),
              Calibration(Decision(0.6, 40, (64, 64), class_id=3, name="blowhole")))
    store.save(chosen, [[], []])
    saved = json.loads((tmp_path / "calibration.json").read_text())
    assert [entry["class_id"] for entry in saved["classes"]] == [1, 3] and "threshold" not in saved
    assert store.load((1, 3)) == chosen
    for other in ((1, 2), (1,), (1, 3, 4)):
        with pytest.raises(DataError) as error:
            store.load(other)
        assert str(error.value) == (f"{tmp_path / 'calibration.json'}: calibrates [1, 3], the model has the classes "
                                    f"{list(other)}; run unet calibrate again or delete it")
    store.save([Calibration(Decision(0.4, 0))], [[]])
    with pytest.raises(DataError, match="calibrates one class, the model has the classes \\[1, 2\\]"):
        store.load((1, 2))


@pytest.mark.parametrize("text, message", [
    ("{not json", "not a calibration file"),
    ('{"threshold": 0.4}', "missing key 'min_area'"),
    ('{"threshold": 2, "min_area": 0}', "threshold must be in (0, 1)"),
    ('{"threshold": 0.4, "min_area": 0, "colour": 1}', "unknown keys colour"),
    ("[1, 2]", "expected a JSON object"),
])
def test_a_bad_calibration_file_is_one_line_naming_it(tmp_path, text, message):
    (tmp_path / "calibration.json").write_text(text)
    with pytest.raises(DataError) as error:
        JsonCalibrationStore(str(tmp_path)).load()
    assert str(error.value).startswith(f"{tmp_path / 'calibration.json'}: ") and message in str(error.value)
    assert "\n" not in str(error.value)


def test_the_manifest_round_trips(tmp_path):
    write_manifest(tmp_path, MANIFEST)
    assert read_manifest(tmp_path) == MANIFEST


@pytest.mark.parametrize("change, message", [
    ({"colour": "red"}, "unknown keys colour"),
    ({"manifest_version": 1}, "another version of unet-defects .manifest_version 1"),
    ({"format": "caffe"}, "unknown format 'caffe'"),
    ({"step": None, "drop": "step"}, "missing keys step"),
])
def test_a_bad_manifest_is_one_line_naming_it(tmp_path, change, message):
    write_manifest(tmp_path, MANIFEST)
    path = tmp_path / "unet_export.json"
    payload = json.loads(path.read_text())
    drop = change.pop("drop", None)
    payload.update(change)
    payload.pop(drop, None)
    path.write_text(json.dumps(payload))
    with pytest.raises(DataError, match=message):
        read_manifest(tmp_path)


def test_a_folder_without_a_manifest_is_not_an_export(tmp_path):
    with pytest.raises(DataError, match="no unet_export.json"):
        read_manifest(tmp_path)
    with pytest.raises(DataError, match="no such export folder"):
        read_manifest(tmp_path / "nowhere")
