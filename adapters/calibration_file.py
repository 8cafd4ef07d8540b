"""<model_dir>/calibration.json: what `unet calibrate` chose, read back by predict, export and eval."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from adapters.artifacts import write_json
from domain.calibration import Calibration, CandidateScores
from domain.errors import DataError, UnetError

FILE_NAME = "calibration.json"
_KEYS = {"threshold", "min_area", "area_at", "chosen_on", "before", "after", "method", "candidates"}


def _scores(value: dict | None) -> CandidateScores | None:
    return None if value is None else CandidateScores(**value)


class JsonCalibrationStore:
    def __init__(self, model_dir: str) -> None:
        self._path = Path(model_dir) / FILE_NAME

    @property
    def location(self) -> str:
        return str(self._path)

    def load(self) -> Calibration | None:
        if not self._path.is_file():
            return None
        try:
            payload = json.loads(self._path.read_text(encoding="utf-8"))
            if not isinstance(payload, dict):
                raise ValueError("expected a JSON object")
            unknown = sorted(set(payload) - _KEYS)
            if unknown:
                raise ValueError(f"unknown keys {', '.join(unknown)}")
            area_at = payload.get("area_at")
            return Calibration(
                threshold=float(payload["threshold"]), min_area=int(payload["min_area"]),
                area_at=None if area_at is None else (int(area_at[0]), int(area_at[1])),
                chosen_on=str(payload.get("chosen_on", "")),
                before=_scores(payload.get("before")), after=_scores(payload.get("after")),
            )
        except (ValueError, KeyError, TypeError, IndexError, UnetError) as error:
            detail = f"missing key {error}" if isinstance(error, KeyError) else str(error).splitlines()[0]
            raise DataError(f"{self._path}: not a calibration file ({detail}); run unet calibrate again "
                            "or delete it") from None

    def save(self, calibration: Calibration, table: Sequence[dict]) -> str:
        self._path.parent.mkdir(parents=True, exist_ok=True)
        write_json(self._path, {
            "threshold": calibration.threshold, "min_area": calibration.min_area,
            "area_at": list(calibration.area_at) if calibration.area_at else None,
            "chosen_on": calibration.chosen_on,
            "method": "grid search maximizing pooled defect Dice over probability thresholds and smallest "
                      "component areas (8-connected); ties go to threshold 0.5 and min_area 0",
            "before": calibration.before.as_dict() if calibration.before else None,
            "after": calibration.after.as_dict() if calibration.after else None,
            "candidates": list(table),
        })
        return str(self._path)
