"""A class's decision and its one JSON shape: what each file keeps of it, and old files read."""

import json

import pytest

from unet_defects.application.values import ExportManifest
from unet_defects.domain.decision import Decision, decisions_json
from unet_defects.domain.errors import ConfigError
from unet_defects.domain.gate import Gate

GATED = Decision(0.35, 16, (32, 32), "model/calibration.json", gate=Gate(0.5, None, (32, 32)), gated=True)


def test_one_shape_and_what_each_record_leaves_out():
    assert list(GATED.to_json()) == ["threshold", "min_area", "area_at", "gate"]
    assert GATED.to_json()["gate"] == {"threshold": 0.5, "area_bar": None, "area_at": [32, 32]}  # unet_export.json
    assert GATED.to_json(gate_area_at=False)["gate"] == {"threshold": 0.5, "area_bar": None}  # calibration.json
    assert GATED.to_json(area_at=False, gate_area_at=False) == {  # predictions.jsonl, the server
        "threshold": 0.35, "min_area": 16, "gate": {"threshold": 0.5, "area_bar": None}}
    reported = Decision(0.35, 16, gate=Gate(0.5))  # a gate only reported (decision_gate: none) is not written
    assert "gate" not in reported.to_json()
    named = Decision(0.4, class_id=3, name="blowhole")
    assert list(named.to_json(area_at=False)) == ["class_id", "name", "threshold", "min_area"]


def test_from_json_reads_what_to_json_wrote_and_the_older_forms():
    assert Decision.from_json(GATED.to_json(), "x") == GATED
    assert Decision.from_json(GATED.to_json(), "x").origin == "x"
    old = Decision.from_json({"threshold": 0.4, "min_area": 6}, "old.json")  # no area_at, no gate: before both
    assert (old.area_at, old.gate, old.gated) == (None, None, False)
    inherited = Decision.from_json({"threshold": 0.4, "min_area": 6, "gate": {"threshold": 0.3, "area_bar": 8}},
                                   "c.json", area_at=(16, 16))
    assert inherited.area_at == (16, 16) and inherited.gate.area_at == (16, 16) and inherited.gated
    with pytest.raises(ConfigError, match=r"threshold must be in \(0, 1\).*from bad.json"):
        Decision.from_json({"threshold": 1.5, "min_area": 0}, "bad.json")


def test_a_decision_is_its_values_not_its_origin_or_class():
    assert Decision(0.5, origin="a") == Decision(0.5, origin="b")
    assert Decision(0.5, class_id=1, name="crack") == Decision(0.5, class_id=2, name="dent")
    assert Decision(0.5) != Decision(0.5, 4)


def test_a_record_states_one_class_flat_and_several_as_classes():
    one = decisions_json((GATED,), **{"from": GATED.origin}, step=120)
    assert list(one) == ["threshold", "min_area", "from", "step", "gate"]
    two = decisions_json((Decision(0.3, class_id=1, name="crack"), Decision(0.6, 40, class_id=3, name="hole")),
                         step=7)
    assert two == {"step": 7, "classes": [{"class_id": 1, "name": "crack", "threshold": 0.3, "min_area": 0},
                                          {"class_id": 3, "name": "hole", "threshold": 0.6, "min_area": 40}]}
    json.dumps(two)  # JSON-ready


def test_the_manifest_writes_and_reads_its_decisions_through_the_value():
    fields = ExportManifest.decision_fields((GATED,))
    manifest = ExportManifest(format="onnx", model_file="model.onnx", step=1, input_size=(32, 32), channels=1,
                              normalization=(1.0, 0.0), class_id=1, **fields)
    assert (manifest.threshold, manifest.min_area, manifest.area_at, manifest.classes) == (0.35, 16, (32, 32), ())
    assert manifest.gate == {"threshold": 0.5, "area_bar": None, "area_at": [32, 32]}
    assert manifest.decisions("e/unet_export.json") == (GATED,)
    version_2 = ExportManifest(format="onnx", model_file="model.onnx", step=1, input_size=(32, 32), channels=1,
                               normalization=(1.0, 0.0), threshold=0.4, min_area=6, area_at=(32, 32),
                               manifest_version=2)
    (decision,) = version_2.decisions("old/unet_export.json")
    assert (decision.threshold, decision.min_area, decision.area_at, decision.gate) == (0.4, 6, (32, 32), None)
    several = (Decision(0.3, class_id=1, name="crack"), Decision(0.6, 40, class_id=3, name="hole"))
    held = ExportManifest.decision_fields(several)
    assert held["threshold"] == 0.3 and held["gate"] is None and [c["class_id"] for c in held["classes"]] == [1, 3]
    back = ExportManifest(format="onnx", model_file="m", step=1, input_size=(8, 8), channels=1,
                          normalization=(1.0, 0.0), **held).decisions("x")
    assert back == several and [d.name for d in back] == ["crack", "hole"]
