"""calibration.json byte for byte, without training: the golden files recorded from a real run
(tests/golden/*/calibration.json.raw) are read by the calibration store, their candidate tables
rebuilt through the score records, and written back by the store; the bytes must not change."""

import json
import shutil
from pathlib import Path

import attrs
import pytest

from unet_defects.adapters.calibration_file import JsonCalibrationStore
from unet_defects.domain.calibration import Calibration, CandidateScores, ComponentTable, search
from unet_defects.domain.decision import Decision
from unet_defects.domain.gate import Gate, GateCandidate, search_gate, side_by_side
from unet_defects.domain.metrics import PartScores

GOLDEN = Path(__file__).resolve().parent.parent / "golden"


def candidate_table(entries: list[dict]) -> list[dict]:
    """The pixel candidates as the search writes them: each through its record."""
    return [CandidateScores(**entry).as_dict() for entry in entries]


def gate_table(entries: list[dict]) -> list[dict]:
    """The gate candidates as the gate search writes them: each through its record."""
    return [GateCandidate(Gate(entry["threshold"], entry["area_bar"]),
                          PartScores(**{k: v for k, v in entry.items() if k not in ("threshold", "area_bar")})).as_dict()
            for entry in entries]


@pytest.mark.parametrize("variant", ["plain", "head"])
def test_calibration_json_reads_and_writes_back_byte_for_byte(tmp_path, variant):
    raw = (GOLDEN / variant / "calibration.json.raw").read_bytes()
    source, target = tmp_path / "read", tmp_path / "written"
    source.mkdir()
    shutil.copyfile(GOLDEN / variant / "calibration.json.raw", source / "calibration.json")
    (calibration,) = JsonCalibrationStore(str(source)).load()
    parsed = json.loads(raw)
    assert (calibration.decision.gate is not None) == (variant == "head") == ("gate" in parsed)
    gates = [gate_table(parsed["gate"]["candidates"])] if "gate" in parsed else []
    written = JsonCalibrationStore(str(target)).save([calibration], [candidate_table(parsed["candidates"])], gates)
    assert Path(written).read_bytes() == raw


def test_without_a_good_part_the_pixel_candidates_write_null_and_the_gate_blocks_0(tmp_path):
    """The one convention the golden files do not reach: part_scores gives no false-alarm rate
    without a good part; calibration.json's pixel candidates write null, every gate block 0.0."""
    tables = {0.5: [ComponentTable(areas=[5], hits=[4], truth_pixels=6), ComponentTable(areas=[], hits=[], truth_pixels=3)]}
    found = search(tables, min_areas=[0])
    rows = [table.gate_row(0, probability) for table, probability in zip(tables[0.5], (0.9, 0.2))]
    gates = search_gate(rows, (None,))
    assert found.best.false_alarm_rate is None and gates.best.scores.false_alarm_rate is None
    calibration = Calibration(Decision(0.5, 0, gate=gates.best.gate, gated=True), before=found.baseline,
                              after=found.best, gate_before=gates.baseline.scores, gate_after=gates.best.scores)
    store = JsonCalibrationStore(str(tmp_path))
    store.save([calibration], [[c.as_dict() for c in found.candidates]], [[c.as_dict() for c in gates.candidates]])
    written = json.loads((tmp_path / "calibration.json").read_text())
    assert written["after"]["false_alarm_rate"] is None and written["candidates"][0]["false_alarm_rate"] is None
    gate = written["gate"]
    assert gate["before"]["false_alarm_rate"] == gate["after"]["false_alarm_rate"] == 0.0
    assert all(candidate["false_alarm_rate"] == 0.0 for candidate in gate["candidates"])
    block = side_by_side(rows, [0.8, 0.4], gates.best.gate)
    assert block["segmentation"]["false_alarm_rate"] == block["classifier"]["false_alarm_rate"] == 0.0
    assert list(block["classifier"]) == ["image_precision", "image_recall", "image_F1", "false_alarm_rate", "defect_Dice",
                                         "image_AUROC"]
    (loaded,) = store.load()
    assert loaded.after == found.best and loaded.gate_after == attrs.evolve(gates.best.scores, false_alarm_rate=0.0)
