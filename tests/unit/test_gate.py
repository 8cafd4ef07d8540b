"""The classifier gate on literal values: its decision, its scores, its calibration search, the
calibration file's gate, and the image labels of parts without masks."""

import json

import numpy as np
import pytest

from unet_defects.adapters.calibration_file import JsonCalibrationStore
from unet_defects.adapters.components import ScipyComponents
from unet_defects.application.inference import calibrated
from unet_defects.application.inspection import inspected
from unet_defects.domain.calibration import Calibration, ComponentTable
from unet_defects.domain.decision import Decision
from unet_defects.domain.errors import ConfigError
from unet_defects.domain.gate import OPEN, Gate, GateRow, GateTable, area_bars, search_gate, side_by_side
from unet_defects.domain.image_labels import kept_masks
from unet_defects.domain.metrics import PartScores


def test_the_gate_keeps_a_mask_by_the_classifier_or_by_a_large_component():
    gate = Gate(0.6, area_bar=50)
    assert gate.keeps(0.6, 1) and not gate.keeps(0.59, 49) and gate.keeps(0.1, 50)
    assert not Gate(0.6).keeps(0.59, 10_000)  # no bar: nothing overrules the classifier
    assert Gate(OPEN).keeps(0.0, 1)
    with pytest.raises(ConfigError, match=r"gate threshold must be in \[0, 1\)"):
        Gate(1.0)
    with pytest.raises(ConfigError, match="area_bar must be 1 or more"):
        Gate(0.5, 0)


def probability_map() -> np.ndarray:
    probabilities = np.zeros((8, 8), np.float32)
    probabilities[0:2, 0:2] = 0.9  # 4 pixels
    probabilities[5:8, 5:8] = 0.8  # 9 pixels
    return probabilities


def test_a_gated_decision_empties_the_mask_the_classifier_vetoes_unless_a_component_reaches_the_bar():
    components = ScipyComponents()
    vetoing = Decision(0.5, gate=Gate(0.5), gated=True)
    assert vetoing.apply(probability_map(), components, 0.4).sum() == 0
    assert vetoing.apply(probability_map(), components, 0.5).sum() == 13
    overruled = Decision(0.5, gate=Gate(0.5, area_bar=9), gated=True)
    assert overruled.apply(probability_map(), components, 0.1).sum() == 13  # the 9-pixel component
    assert Decision(0.5, gate=Gate(0.5, area_bar=10), gated=True).apply(probability_map(), components, 0.1).sum() == 0
    # The bar scales with the image as min_area does: 10 pixels at 4x4 are 40 at 8x8.
    scaled = Decision(0.5, area_at=(4, 4), gate=Gate(0.5, area_bar=2), gated=True)
    assert scaled.apply(probability_map(), components, 0.1).sum() == 13  # bar 8 <= 9
    # Reported, not applied (decision_gate: none), or without the head's probability: the rule alone.
    assert Decision(0.5, gate=Gate(0.5)).apply(probability_map(), components, 0.0).sum() == 13
    assert vetoing.apply(probability_map(), components).sum() == 13
    found = inspected(probability_map()[..., None], (vetoing,), components, image_probabilities=np.array([0.2]))
    assert not found.defective and found.summary()["classifier"] == [0.2]


def test_a_gate_per_class_reads_its_own_probability():
    probabilities = np.stack([probability_map(), probability_map()], axis=-1)
    decisions = (Decision(0.5, gate=Gate(0.5), gated=True), Decision(0.5, gate=Gate(0.3), gated=True))
    found = inspected(probabilities, decisions, ScipyComponents(), ((1, "a"), (2, "b")), np.array([0.4, 0.4]))
    assert found.mask[..., 0].sum() == 0 and found.mask[..., 1].sum() == 13


ROWS = (  # probability, largest area, tp, fp, truth pixels
    GateRow(0.9, 20, 15, 5, 18),  # a defective part, found; the classifier agrees
    GateRow(0.2, 30, 25, 5, 30),  # a defective part, found; the classifier doubts, its component is large
    GateRow(0.1, 6, 0, 6, 0),  # a good part with a false alarm; the classifier says good
    GateRow(0.7, 4, 0, 4, 0),  # a good part with a false alarm; the classifier is fooled
    GateRow(0.05, 0, 0, 0, 0),  # a good part, nothing predicted
)


def test_the_gated_scores_count_parts_and_pixels_by_hand():
    rule = GateTable.of(ROWS).scores(Gate(OPEN))
    # Parts: 2 defective found, 2 false alarms of 3 good parts. Pixels: tp 40, fp 20, fn 8.
    assert rule == PartScores(image_precision=0.5, image_recall=1.0, image_F1=2 / 3, false_alarm_rate=2 / 3,
                              defect_Dice=80 / 108)
    vetoed = GateTable.of(ROWS).scores(Gate(0.5))  # drops part 2 (a miss: fn 3 + 30) and part 3 (its 6 fp)
    assert vetoed.image_recall == 0.5 and vetoed.false_alarm_rate == pytest.approx(1 / 3)
    assert vetoed.defect_Dice == pytest.approx(2 * 15 / (2 * 15 + 9 + 33))
    overruled = GateTable.of(ROWS).scores(Gate(0.5, area_bar=25))  # part 2 stands by its 30-pixel component
    assert overruled.image_recall == 1.0 and overruled.false_alarm_rate == pytest.approx(1 / 3)
    assert overruled.image_precision == pytest.approx(2 / 3)
    block = side_by_side(ROWS, [0.95, 0.9, 0.8, 0.6, 0.1], Gate(0.5, area_bar=25))
    assert block["segmentation"]["image_AUROC"] == 1.0  # by pixel peaks: both defective parts rank first
    assert block["classifier"]["image_AUROC"] == pytest.approx(5 / 6)  # 0.9 beats all 3 good; 0.2 beats 0.1, 0.05
    assert (block["threshold"], block["area_bar"]) == (0.5, 25)


def test_the_search_never_scores_below_the_open_gate_and_prefers_it_on_ties():
    found = search_gate(ROWS, area_bars(4, (0, 4, 8, 16, 32)), objective="image_F1")
    assert found.baseline.gate == Gate(OPEN) and found.baseline.scores.image_F1 == pytest.approx(2 / 3)
    assert found.best.scores.image_F1 >= found.baseline.scores.image_F1
    # A threshold in (0.7, 0.9] vetoes both false alarms; a bar in (6, 30] lets part 2 stand by its
    # component. Of those ties, the threshold nearest 0.5 and the larger bar win.
    assert found.best.scores.image_F1 == 1.0 and found.best.scores.false_alarm_rate == 0.0
    assert found.best.gate == Gate(0.75, 16)
    clean = (GateRow(0.9, 10, 10, 0, 10), GateRow(0.1, 0, 0, 0, 0))  # nothing to veto
    assert search_gate(clean, (None,)).best.gate == Gate(OPEN)
    assert area_bars(8, (0, 4, 8, 16, 32)) == (16, 32, None)
    with pytest.raises(ConfigError, match="--objective: unknown 'recall'"):
        search_gate(ROWS, (None,), objective="recall")


def test_a_component_table_gives_the_gate_its_row_at_the_chosen_min_area():
    table = ComponentTable(areas=[3, 12], hits=[0, 10], truth_pixels=11)
    assert table.gate_row(4, 0.3) == GateRow(0.3, 12, 10, 2, 11)
    assert table.gate_row(20, 0.3) == GateRow(0.3, 0, 0, 0, 11)


def test_the_calibration_file_keeps_the_gate_and_a_file_without_one_reads_as_before(tmp_path):
    store = JsonCalibrationStore(str(tmp_path))
    level = PartScores(0.5, 1.0, 2 / 3, 0.5, 0.7, None)
    store.save([Calibration(Decision(0.4, 8, gate=Gate(0.3, 64), gated=True), gate_before=level, gate_after=level)], [[]],
               [[{"threshold": 0.3}]])
    written = json.loads((tmp_path / "calibration.json").read_text())
    assert written["gate"]["threshold"] == 0.3 and written["gate"]["candidates"] == [{"threshold": 0.3}]
    (loaded,) = store.load()
    assert loaded.decision.gate == Gate(0.3, 64) and loaded.gate_after == level
    applied = calibrated(0.5, store, (1,), "classifier")[0]
    assert applied.gated and applied.gate == Gate(0.3, 64) and (applied.threshold, applied.min_area) == (0.4, 8)
    assert calibrated(0.5, store, (1,), None)[0].gate is None  # no head: no gate
    store.save([Calibration(Decision(0.4, 8))], [[]])
    assert "gate" not in json.loads((tmp_path / "calibration.json").read_text())
    assert calibrated(0.5, store, (1,), "none")[0].gate == Gate()  # the head's default gate, reported only


def test_masked_fraction_keeps_a_seeded_share_of_the_masks():
    drawn = [True, False, True, True, True, False, True, True, True]
    kept = kept_masks(drawn, 0.25, seed=3)
    assert len(kept) == 2 and all(drawn[i] for i in kept)  # round(0.25 x 7)
    assert kept == kept_masks(drawn, 0.25, seed=3)  # the same for a seed and listing
    assert len(kept_masks(drawn, 0.01, seed=0)) == 1  # at least one
    assert kept_masks(drawn, 1.0, seed=0) == {i for i, d in enumerate(drawn) if d}


def test_exported_outputs_are_found_by_name_whatever_their_order():
    from unet_defects.adapters.runtimes.catalog import output_order

    assert output_order([{"probabilities:0"}]) == [0]
    assert output_order([{"probabilities"}, {"image_probabilities"}]) == [0, 1]
    assert output_order([{"image_probabilities:0"}, {"probabilities:0", "Identity:0"}]) == [1, 0]
    with pytest.raises(ValueError, match="name no 'probabilities'"):
        output_order([{"a"}, {"b"}])


@pytest.mark.parametrize("gate, message", [
    ({"threshold": 0.4}, "gate must hold area_at, area_bar, threshold"),
    ({"threshold": 1.5, "area_bar": None, "area_at": None}, r"gate: threshold in \[0, 1\)"),
    ({"threshold": False, "area_bar": None, "area_at": None}, r"gate: threshold in \[0, 1\)"),
    ({"threshold": 0.4, "area_bar": 0, "area_at": None}, "area_bar of 1 or more pixels"),
    ({"threshold": 0.4, "area_bar": 8, "area_at": [32]}, r"area_at \[height, width\]"),
])
def test_a_manifest_gate_is_read_strictly(tmp_path, gate, message):
    from unet_defects.adapters.runtimes.manifest import read_manifest, write_manifest
    from unet_defects.application.values import ExportManifest
    from unet_defects.domain.errors import DataError

    write_manifest(tmp_path, ExportManifest(format="onnx", model_file="model.onnx", step=1, input_size=(8, 8),
                                            channels=1, normalization=(1.0, 0.0), threshold=0.5,
                                            gate={"threshold": 0.4, "area_bar": 16, "area_at": [8, 8]}))
    assert read_manifest(tmp_path).gate == {"threshold": 0.4, "area_bar": 16, "area_at": [8, 8]}
    payload = json.loads((tmp_path / "unet_export.json").read_text())
    older = {key: value for key, value in payload.items() if key not in ("gate", "class_id")}
    (tmp_path / "unet_export.json").write_text(json.dumps({**older, "manifest_version": 2}))
    assert read_manifest(tmp_path).gate is None  # an export of before reads as it did
    (tmp_path / "unet_export.json").write_text(json.dumps({**payload, "gate": gate}))
    with pytest.raises(DataError, match=message) as raised:
        read_manifest(tmp_path)
    assert "\n" not in str(raised.value) and "unet_export.json" in str(raised.value)
