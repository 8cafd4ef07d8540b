"""report.html: what the use case gathers from a model_dir's files (fakes), and the page the
renderer makes of it (escaped, self-contained, every section present)."""

import base64
import json
import re

import pytest

from unet_defects.adapters.fakes import FakePageWriter, FakeRunFiles
from unet_defects.adapters.report_html import render
from unet_defects.adapters.run_files import ModelDirFiles
from unet_defects.application.report_page import EVALUATION_PICTURES, ReportPageUseCase
from unet_defects.application.report_page_ports import RunRecords
from unet_defects.configs.loader import build_experiment
from unet_defects.domain.errors import DataError
from unet_defects.domain.metrics import SCORE_NAMES
from unet_defects.domain.score_meanings import MEANINGS, meaning

SECTIONS = ("plan", "curves", "pictures", "decision", "scores")
PNG = b"\x89PNG\r\n\x1a\n not decoded here"
SCORES = {"mIOU": 0.9, "defect_Dice": 0.75, "image_AUROC": None, "image_AUROC_score": "classifier"}
POINT = {"defective_parts": 10, "found": 9, "good_parts": 40, "false_alarms": 2,
         "recall_at_false_alarm_rate": {"0.05": 0.8}}
CALIBRATION = {"threshold": 0.3, "min_area": 12, "area_at": None, "chosen_on": "20 validation images",
               "method": "a grid search", "before": {"threshold": 0.5, "min_area": 0, "defect_Dice": 0.5},
               "after": {"threshold": 0.3, "min_area": 12, "defect_Dice": 0.61}, "gate": {"threshold": 0.2}}


def experiment(**runconfig):
    return build_experiment({
        "train_input": {"dataset": "ImageFolderDataset", "dataset_path": "parts", "image_shape": [64, 48, 1],
                        "validation_split": 0.2},
        "model": {"classifier_head": True},
        "runconfig": {"model_dir": "m", "max_steps": 300, "calibrate": True, **runconfig},
        "plan": {"dataset_path": "parts", "budget": "30m", "advice": ["model.loss: bce_tversky (rare defects)"],
                 "fingerprint": {"images": 80, "height": {"low": 40, "median": 64, "high": 70}}},
    })


def results(**top):
    validation = {**SCORES, "split": "validation", "global_step": 300, "num_images": 16, "decision": "threshold 0.5"}
    test = {**SCORES, "mIOU": 0.8, "split": "test", "global_step": 300, "num_images": 20,
            "decision": "threshold 0.3, min_area 12 from m/calibration.json", "operating_point": POINT}
    return {**test, "validation": validation, "test": test, **top}


def gathered(files):
    writer = FakePageWriter()
    path = ReportPageUseCase(files, writer, experiment()).execute()
    return path, writer.pages[path]


def test_the_page_gathers_the_plan_the_test_block_the_calibration_and_each_score_with_its_meaning():
    pictures = {(None, "m/report.png"): PNG, ("test", "confusion.png"): PNG, ("test", "pr_curves.png"): PNG,
                ("validation", "worst_dice.png"): PNG}
    path, page = gathered(FakeRunFiles(RunRecords("train_input: {}\n", results(), CALIBRATION), pictures))
    assert path == "m/report.html" and page.curves is not None and page.params == "train_input: {}\n"
    configuration = dict(page.configuration)
    assert configuration["images"].startswith("64x48, 1 channel(s), batches of ")
    assert "classifier head" in configuration["network"] and "calibrated" in configuration["held out"]
    plan = dict(page.plan)
    assert plan["budget"] == "30m" and plan["advice"].startswith("model.loss") and plan["height"] == "median 64 (40 to 70)"
    # The test images' pictures first, each folder's in the reading order of EVALUATION_PICTURES.
    assert [group.heading.split()[0] for group in page.pictures] == ["Test", "Validation"]
    assert [p.title for p in page.pictures[0].pictures] == ["Precision and recall", "Part verdicts"]
    assert all(p.caption for group in page.pictures for p in group.pictures)
    assert page.decision.endswith("calibration.json") and page.line.startswith("finds 9 of 10 bad parts")
    assert page.scores_heading.startswith("the test split at step 300, 20 images")
    assert [(line.name, line.value) for line in page.scores] == [("mIOU", 0.8), ("defect_Dice", 0.75),
                                                                 ("image_AUROC", None)]
    assert page.scores[2].meaning.endswith("the classifier head's probability")
    (calibrated,) = page.calibrations
    assert dict(calibrated.decision) == {"threshold": "0.3", "min_area": "12", "classifier gate threshold": "0.2"}
    assert calibrated.comparison == (("defect_Dice", "0.5", "0.61"),) and page.calibration_method == "a grid search"


def test_a_model_dir_without_evaluations_gives_a_page_of_what_is_there():
    _, page = gathered(FakeRunFiles())
    assert page.curves is None and page.pictures == () and page.scores == () and page.calibrations == ()
    assert page.decision == "" and page.line == "" and page.configuration
    html = render(page)
    for anchor in SECTIONS:
        assert f'<section id="{anchor}">' in html
    assert "written by the next evaluation" in html


def test_several_classes_calibrated_apart_each_get_their_decision():
    calibration = {"method": "m", "classes": [{**CALIBRATION, "class_id": 1, "name": "scratch"},
                                              {**CALIBRATION, "class_id": 2, "name": "dent", "gate": None}]}
    _, page = gathered(FakeRunFiles(RunRecords(calibration=calibration)))
    assert [c.label for c in page.calibrations] == ["scratch", "dent"]
    assert "classifier gate threshold" not in dict(page.calibrations[1].decision)


def test_the_page_escapes_what_came_from_files_and_embeds_every_picture():
    hostile = "<script>alert(1)</script>"
    pictures = {(None, "m/report.png"): PNG, **{("test", name): PNG for name, _, _ in EVALUATION_PICTURES}}
    recorded = results()
    recorded["test"]["decision"] = hostile
    files = FakeRunFiles(RunRecords(f"description: {hostile}\n", recorded, {**CALIBRATION, "chosen_on": hostile}),
                         pictures)
    html = render(gathered(files)[1])
    assert "<script" not in html and html.count("&lt;script&gt;") >= 3
    sources = re.findall(r'<img src="([^"]*)"', html)
    assert len(sources) == 1 + len(EVALUATION_PICTURES)
    assert all(base64.b64decode(src.split(",", 1)[1]) == PNG for src in sources)
    assert all(src.startswith("data:image/png;base64,") for src in sources)
    # Nothing the page would fetch: no links to stylesheets, scripts or remote pictures.
    assert not re.search(r'(src|href)="(https?:|//)', html) and "<link" not in html and "@import" not in html
    for anchor in SECTIONS:
        assert f'<section id="{anchor}">' in html


def test_every_score_has_its_meaning_in_one_place():
    assert set(SCORE_NAMES) <= set(MEANINGS)
    assert meaning("image_AUROC", "max_probability").endswith(": the largest probability")
    assert meaning("mIOU", "classifier") == MEANINGS["mIOU"]


def test_model_dir_files_read_the_records_and_name_a_broken_one(tmp_path):
    (tmp_path / "eval" / "test").mkdir(parents=True)
    (tmp_path / "params.yaml").write_text("runconfig: {}\n")
    (tmp_path / "eval" / "results.json").write_text(json.dumps(results()))
    (tmp_path / "eval" / "test" / "confusion.png").write_bytes(PNG)
    files = ModelDirFiles(str(tmp_path))
    records = files.records()
    assert records.params == "runconfig: {}\n" and records.results["split"] == "test" and records.calibration is None
    assert files.picture("confusion.png", "test") == PNG and files.picture("confusion.png", "validation") is None
    (tmp_path / "calibration.json").write_text("{not json")
    with pytest.raises(DataError, match=rf"{tmp_path}/calibration.json: not JSON"):
        files.records()
    (tmp_path / "calibration.json").write_text("[1]")
    with pytest.raises(DataError, match="calibration.json: expected a JSON object"):
        files.records()


def test_one_evaluation_without_a_test_apart_heads_its_pictures_as_the_evaluation():
    one = {**SCORES, "split": "eval", "global_step": 12, "num_images": 5, "decision": "threshold 0.5"}
    _, page = gathered(FakeRunFiles(RunRecords(results=one), {("validation", "confusion.png"): PNG}))
    assert [group.heading for group in page.pictures] == ["Evaluation images (eval/)"]
    assert page.scores_heading == "the eval split at step 12, 5 images"
