"""FileBestKeeper: the best-scoring checkpoint, copied into <model_dir>/best/ with best.json.

The copy is outside the folder that keep_checkpoint_max rotates, so it is never deleted by
training. best.json is written under a temporary name and renamed after the files are in
place, and the previous best's files are removed only then: a kill leaves a consistent best.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from unet_defects.application.values import BestCheckpoint, CheckpointRef
from unet_defects.domain.errors import CheckpointError

FOLDER = "best"
RECORD = "best.json"


class FileBestKeeper:
    def __init__(self, model_dir: str) -> None:
        self._folder = Path(model_dir) / FOLDER

    def best(self) -> BestCheckpoint | None:
        record = self._folder / RECORD
        if not record.is_file():
            return None
        try:
            saved = json.loads(record.read_text())
            ref = CheckpointRef(int(saved["step"]), str(self._folder / saved["checkpoint"]))
            return BestCheckpoint(ref, str(saved["score"]), float(saved["value"]))
        except (ValueError, KeyError, TypeError):
            raise CheckpointError(f"{record}: not a best-checkpoint record (step, checkpoint, score, value)") from None

    def keep(self, checkpoint: CheckpointRef, score: str, value: float) -> BestCheckpoint:
        previous = self.best()
        self._folder.mkdir(parents=True, exist_ok=True)
        source = Path(checkpoint.path)
        for file in source.parent.glob(source.name + ".*"):
            shutil.copy2(file, self._folder / file.name)
        payload = {"step": checkpoint.step, "checkpoint": source.name, "score": score, "value": value,
                   "source": str(source)}
        temporary = self._folder / f".{RECORD}.tmp"
        temporary.write_text(json.dumps(payload, indent=2) + "\n")
        os.replace(temporary, self._folder / RECORD)
        if previous is not None and Path(previous.checkpoint.path).name != source.name:
            old = Path(previous.checkpoint.path)
            for file in old.parent.glob(old.name + ".*"):
                file.unlink(missing_ok=True)
        return BestCheckpoint(CheckpointRef(checkpoint.step, str(self._folder / source.name)), score, value)
