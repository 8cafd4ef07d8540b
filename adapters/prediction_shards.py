"""An archive run's lines in its output folder: one shard per batch, merged at the end.

A shard is written to a temporary name, flushed and renamed into place, so it is whole or
absent; its name comes from the files it holds (domain.resumption). A failed file's record
({"file", "error"}) sits in the shard beside the lines; it is not done, so the next run tries it
again. `run.json` beside the shards keeps what wrote them (model, decisions, TTA, geometry).
The merge streams the shards, so an archive of millions of images costs their names in memory,
not their lines.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from pathlib import Path

from unet_defects.adapters.atomic_files import atomic_writer, write_json_lines, write_text
from unet_defects.application.prediction import PREDICTIONS_FILE
from unet_defects.application.prediction_ports import FAILURE_KEY, BatchOutcome, still_failed
from unet_defects.domain.errors import DataError
from unet_defects.domain.resumption import SHARD_PREFIX, is_shard, shard_name

SHARDS_FOLDER = "shards"
ERRORS_FILE = "errors.txt"
RUN_FILE = "run.json"


class FilePredictionShards:
    def done(self, output: str) -> set[str]:
        folder = Path(output) / SHARDS_FOLDER
        if folder.is_dir():  # a killed driver's half-written shard: its batch is not done
            for stale in folder.glob(f".{SHARD_PREFIX}*.tmp"):
                stale.unlink(missing_ok=True)
        return {record["file"] for record in self._records(output) if FAILURE_KEY not in record}

    def write(self, output: str, outcome: BatchOutcome) -> str:
        folder = Path(output) / SHARDS_FOLDER
        folder.mkdir(parents=True, exist_ok=True)
        return write_json_lines(folder / shard_name(outcome.files), outcome.records(), durable=True)

    def recorded_run(self, output: str) -> dict | None:
        path = Path(output) / SHARDS_FOLDER / RUN_FILE
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except ValueError:
            raise DataError(f"{path}: not JSON; delete the shards/ folder to start over") from None

    def record_run(self, output: str, identity: dict) -> None:
        folder = Path(output) / SHARDS_FOLDER
        folder.mkdir(parents=True, exist_ok=True)
        write_text(folder / RUN_FILE, json.dumps(identity, indent=2) + "\n", durable=True)

    def merge(self, output: str, files: Sequence[str]) -> list[str]:
        done: set[str] = set()
        failures: dict[str, str] = {}
        target = Path(output) / PREDICTIONS_FILE
        with atomic_writer(target) as handle:
            for record in self._records(output):
                if FAILURE_KEY in record:
                    failures[record["file"]] = record[FAILURE_KEY]
                else:
                    handle.write(json.dumps(record) + "\n")
                    done.add(record["file"])
        written = [str(target)]
        failed = still_failed(failures.items(), done, files)
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
                    for number, line in enumerate(handle, 1):
                        try:
                            yield json.loads(line)
                        except ValueError:
                            raise DataError(f"{shard}: line {number} is not JSON; delete this shard and run "
                                            "again (its images are predicted again)") from None
