"""Ports of the archive use case: the batch engine that spreads batches over workers, and the
output folder's store of shards."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Protocol

import attrs

FAILURE_KEY = "error"  # a record holding it is a file that failed, not a line
Item = tuple[str, str]  # (the file's name as given, where a worker reads it: an absolute path)


@attrs.frozen
class BatchOutcome:
    """One batch's lines (an image each, written) and failures ((file, one-line error))."""

    lines: tuple[dict, ...] = ()
    failures: tuple[tuple[str, str], ...] = ()

    @property
    def files_written(self) -> list[str]:
        return [line["file"] for line in self.lines]

    @property
    def files(self) -> list[str]:
        return self.files_written + [name for name, _ in self.failures]

    def records(self) -> list[dict]:
        """As JSON-ready records: the lines, then a {"file", "error"} per failure."""
        return [*self.lines, *({"file": name, FAILURE_KEY: error} for name, error in self.failures)]

    @classmethod
    def from_records(cls, records: Iterable[dict]) -> BatchOutcome:
        lines, failures = [], []
        for record in records:
            if FAILURE_KEY in record:
                failures.append((record["file"], record[FAILURE_KEY]))
            else:
                lines.append(record)
        return cls(tuple(lines), tuple(failures))


def still_failed(failures: Iterable[tuple[str, str]], done: set[str], files: Sequence[str]) -> list[str]:
    """The error of each of `files` that failed and is not done (a later run may have done it),
    in `files`' order."""
    errors = dict(failures)
    return [errors[name] for name in files if name in errors and name not in done]


class BatchRunner(Protocol):
    def run(self, items: Sequence[Item], open_worker: Callable[[], Callable[[Sequence[Item]], BatchOutcome]],
            ) -> Iterator[BatchOutcome]:
        """Every item through a worker, each worker made once by `open_worker` (a picklable
        callable) and called on batches; each batch's outcome once, as it finishes, in any
        order. A batch whose worker died is run again elsewhere."""


class PredictionShards(Protocol):
    def done(self, output: str) -> set[str]:
        """The files whose line an earlier batch wrote into `output`."""

    def write(self, output: str, outcome: BatchOutcome) -> str:
        """The batch's lines and failures as one shard, whole or not at all; return its path."""

    def recorded_run(self, output: str) -> dict | None:
        """The identity (model, step, decisions, TTA, geometry) the shards were written with."""

    def record_run(self, output: str, identity: dict) -> None:
        """Keep the identity this run writes its shards with."""

    def merge(self, output: str, files: Sequence[str]) -> list[str]:
        """predictions.jsonl (every done file's line, shard after shard) and, when some of
        `files` failed and are not done, errors.txt (one line each); return the paths written."""
