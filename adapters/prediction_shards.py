"""An archive run's lines in its output folder: one shard per batch, merged at the end.

A shard is written to a temporary name and renamed into place, so it is whole or absent; its
name comes from the files it holds (domain.resumption), so a batch run twice replaces its own
shard. A failed file's record ({"file", "error"}) sits in the shard beside the lines; it is
not done, so the next run tries it again.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from pathlib import Path

from unet_defects.adapters.atomic_files import write_json_lines, write_text
from unet_defects.application.archive_ports import BatchOutcome, merged
from unet_defects.application.prediction import PREDICTIONS_FILE
from unet_defects.domain.resumption import is_shard, shard_name

SHARDS_FOLDER = "shards"
ERRORS_FILE = "errors.txt"


class FilePredictionShards:
    def done(self, output: str) -> set[str]:
        return set(BatchOutcome.from_records(self._records(output)).files_written)

    def write(self, output: str, outcome: BatchOutcome) -> str:
        folder = Path(output) / SHARDS_FOLDER
        folder.mkdir(parents=True, exist_ok=True)
        return write_json_lines(folder / shard_name(outcome.files), outcome.records(), durable=True)

    def merge(self, output: str, files: Sequence[str]) -> list[str]:
        lines, failed = merged(self._records(output), files)
        written = [write_json_lines(Path(output) / PREDICTIONS_FILE, lines)]
        errors_path = Path(output) / ERRORS_FILE
        if failed:
            written.append(write_text(errors_path, "".join(f"{error}\n" for error in failed)))
        elif errors_path.exists():
            errors_path.unlink()  # every file that failed before is done now
        return written

    @staticmethod
    def _records(output: str) -> Iterator[dict]:
        folder = Path(output) / SHARDS_FOLDER
        if not folder.is_dir():
            return
        for shard in sorted(folder.iterdir()):
            if is_shard(shard.name):
                with open(shard, encoding="utf-8") as handle:
                    yield from (json.loads(line) for line in handle if line.strip())
