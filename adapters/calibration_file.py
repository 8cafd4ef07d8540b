"""<model_dir>/calibration.json: what `unet calibrate` chose, read back by predict, export and eval.

One class: the decision's keys at the top. Several classes: `classes`, a list of the same keys
with `class_id` and `name`, one per class in the model's channel order."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from unet_defects.adapters.artifacts import write_json
from unet_defects.domain.calibration import Calibration, CandidateScores
from unet_defects.domain.decision import Decision
from unet_defects.domain.errors import DataError, UnetError
from unet_defects.domain.gate import gate_json
from unet_defects.domain.metrics import PartScores

FILE_NAME = "calibration.json"
_KEYS = {"threshold", "min_area", "area_at", "chosen_on", "before", "after", "method", "candidates", "gate"}
_GATE_KEYS = {"threshold", "area_bar", "before", "after", "candidates"}
_CLASS_KEYS = _KEYS - {"method"} | {"class_id", "name"}
METHOD = ("grid search maximizing pooled defect Dice over probability thresholds and smallest component areas "
          "(8-connected); ties go to threshold 0.5 and min_area 0")


def _scores(value: dict | None) -> CandidateScores | None:
    return None if value is None else CandidateScores(**value)


def _checked_keys(payload: object, allowed: set[str]) -> dict:
    if not isinstance(payload, dict):
        raise ValueError("expected a JSON object")
    unknown = sorted(set(payload) - allowed)
    if unknown:
        raise ValueError(f"unknown keys {', '.join(unknown)}")
    return payload


def _calibration(payload: dict, origin: str) -> Calibration:
    """A calibration: its decision read by Decision.from_json, beside the search's evidence."""
    gate = payload.get("gate")
    if gate is not None:
        _checked_keys(gate, _GATE_KEYS)
    if "min_area" not in payload:  # required here (a manifest's defaults to 0)
        raise KeyError("min_area")
    decision = Decision.from_json(payload, origin)
    levels = {key: None if gate is None or gate.get(key) is None else PartScores(**gate[key]) for key in ("before", "after")}
    return Calibration(decision, chosen_on=str(payload.get("chosen_on", "")), before=_scores(payload.get("before")),
                       after=_scores(payload.get("after")), gate_before=levels["before"], gate_after=levels["after"])


def _payload(calibration: Calibration, table: Sequence[dict], gate_table: Sequence[dict] = ()) -> dict:
    """The decision's JSON (Decision.to_json: the gate without its area_at, which is the
    decision's), each part followed by its evidence."""
    payload = calibration.decision.to_json(gate_area_at=False)
    gate = payload.pop("gate", None)
    payload.update(chosen_on=calibration.chosen_on,
                   before=calibration.before.as_dict() if calibration.before else None,
                   after=calibration.after.as_dict() if calibration.after else None, candidates=list(table))
    if gate is not None:  # a network with a classifier head
        payload["gate"] = {**gate, "before": gate_json(calibration.gate_before) if calibration.gate_before else None,
                           "after": gate_json(calibration.gate_after) if calibration.gate_after else None,
                           "candidates": list(gate_table)}
    return payload


class JsonCalibrationStore:
    def __init__(self, model_dir: str) -> None:
        self._path = Path(model_dir) / FILE_NAME

    @property
    def location(self) -> str:
        return str(self._path)

    def load(self, class_ids: Sequence[int] = (1,)) -> tuple[Calibration, ...] | None:
        """One decision per class of `class_ids` (the model's channels), or None without a file."""
        if not self._path.is_file():
            return None
        try:
            payload = _checked_keys(json.loads(self._path.read_text(encoding="utf-8")), _KEYS | {"classes"})
            if "classes" not in payload:
                found = (_calibration(payload, self.location),)
            else:
                entries = [_checked_keys(entry, _CLASS_KEYS) for entry in payload["classes"]]
                if not entries:
                    raise ValueError("classes is empty")
                found = tuple(_calibration({**entry, "class_id": int(entry["class_id"])}, self.location)
                              for entry in entries)
        except (ValueError, KeyError, TypeError, IndexError, UnetError) as error:
            detail = f"missing key {error}" if isinstance(error, KeyError) else str(error).splitlines()[0]
            raise DataError(f"{self._path}: not a calibration file ({detail}); run unet calibrate again "
                            "or delete it") from None
        held_ids = [c.decision.class_id for c in found]
        several = len(found) > 1 or held_ids[0] is not None
        if len(found) != len(class_ids) or (several and held_ids != list(class_ids)):
            held = held_ids if several else "one class"
            raise DataError(f"{self._path}: calibrates {held}, the model has the classes {list(class_ids)}; run "
                            "unet calibrate again or delete it")
        return found

    def save(self, calibrations: Sequence[Calibration], tables: Sequence[Sequence[dict]],
             gate_tables: Sequence[Sequence[dict]] = ()) -> str:
        """One calibration (the one class) at the top, several as `classes`; `gate_tables`: each
        class's gate candidates, with a classifier head."""
        self._path.parent.mkdir(parents=True, exist_ok=True)
        gate_tables = list(gate_tables) or [()] * len(calibrations)
        if len(calibrations) == 1 and calibrations[0].decision.class_id is None:
            one = _payload(calibrations[0], tables[0], gate_tables[0])
            order = ("threshold", "min_area", "area_at", "chosen_on", "method", "before", "after", "candidates", "gate")
            payload = {key: METHOD if key == "method" else one[key] for key in order if key in one or key == "method"}
        else:
            payload = {"method": METHOD + "; one search per class", "classes": [
                _payload(c, table, gates) for c, table, gates in zip(calibrations, tables, gate_tables)]}
        write_json(self._path, payload)
        return str(self._path)
