"""RunFiles over a model_dir: the records and pictures a run left, read for the report page."""

from __future__ import annotations

import json
from pathlib import Path

from unet_defects.adapters.artifacts import split_folder
from unet_defects.adapters.calibration_file import FILE_NAME as CALIBRATION_FILE
from unet_defects.application.report_page_ports import RunRecords
from unet_defects.configs.store import PARAMS_FILE
from unet_defects.domain.errors import DataError


class ModelDirFiles:
    def __init__(self, model_dir: str) -> None:
        self._model_dir = Path(model_dir)
        self._eval_dir = self._model_dir / "eval"

    def records(self) -> RunRecords:
        params = self._model_dir / PARAMS_FILE
        return RunRecords(params=params.read_text(encoding="utf-8") if params.is_file() else "",
                          results=_json(self._eval_dir / "results.json"),
                          calibration=_json(self._model_dir / CALIBRATION_FILE))

    def picture(self, name: str, split: str | None = None) -> bytes | None:
        path = (Path() if split is None else split_folder(self._eval_dir, split)) / name
        if not path.is_file():
            return None
        try:
            return path.read_bytes()
        except OSError as error:
            raise DataError(f"{path}: cannot read it ({error.strerror})") from None


def _json(path: Path) -> dict | None:
    if not path.is_file():
        return None
    try:
        payload = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as error:
        raise DataError(f"{path}: not JSON ({str(error).splitlines()[0]}); evaluate again or delete it") from None
    if not isinstance(payload, dict):
        raise DataError(f"{path}: expected a JSON object; evaluate again or delete it")
    return payload
