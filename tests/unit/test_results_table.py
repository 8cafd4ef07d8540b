"""eval/results.csv: a row per evaluation file, by step, the test's after the validation's."""

from __future__ import annotations

import csv
import json

from unet_defects.adapters.results_table import write_results_table


def test_one_row_per_evaluation_with_every_scalar_score(tmp_path):
    assert write_results_table(tmp_path) is None  # nothing evaluated yet
    (tmp_path / "test").mkdir()
    evaluations = {
        tmp_path / "results-20.json": {"global_step": 20, "split": "validation", "defect_Dice": 0.5,
                                       "image_AUROC": None, "num_images": 4, "per_class": {"1": {}}},
        tmp_path / "results-100.json": {"global_step": 100, "split": "validation", "defect_Dice": 0.7,
                                        "image_AUROC": 0.9, "num_images": 4, "thresholds": [0.3, 0.5]},
        tmp_path / "test" / "results-100.json": {"global_step": 100, "split": "test", "defect_Dice": 0.6,
                                                 "image_AUROC": 0.8, "num_images": 6, "collapsed": False},
    }
    for path, scores in evaluations.items():
        path.write_text(json.dumps(scores))
    (tmp_path / "results.json").write_text(json.dumps({"global_step": 100}))  # the latest: not a row of its own
    (tmp_path / "results-broken.json").write_text("{")
    rows = list(csv.DictReader(open(write_results_table(tmp_path), encoding="utf-8")))
    assert [(row["step"], row["split"]) for row in rows] == [("20", "validation"), ("100", "validation"),
                                                             ("100", "test")]
    assert [row["defect_Dice"] for row in rows] == ["0.5", "0.7", "0.6"]
    assert rows[0]["image_AUROC"] == "" and rows[2]["collapsed"] == "False" and rows[0]["collapsed"] == ""
    assert "per_class" not in rows[0] and "thresholds" not in rows[0]  # nested blocks stay in the JSON
