"""Fakes of the archive's ports: a batch engine in this process and shards kept in memory."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

from unet_defects.application.prediction_ports import BatchOutcome, Item, still_failed
from unet_defects.domain.resumption import shard_name


class DriverKilled(Exception):
    """The fake runner's stand-in for a driver killed between two batches."""


class FakeBatchRunner:
    """The worker opened once, batches of `batch_size` in order. `retried`: batch numbers whose
    work runs twice (a worker died after writing, Ray ran the batch again) while the outcome
    comes back once; `killed_after`: the driver dies after that many batches came back."""

    def __init__(self, batch_size: int = 2, retried: Sequence[int] = (), killed_after: int | None = None) -> None:
        self.batch_size = batch_size
        self.retried = set(retried)
        self.killed_after = killed_after
        self.items_seen: list[Item] = []

    def run(self, items: Sequence[Item], open_worker: Callable[[], Callable[[Sequence[Item]], BatchOutcome]],
            ) -> Iterator[BatchOutcome]:
        work = open_worker()
        for number, start in enumerate(range(0, len(items), self.batch_size)):
            if self.killed_after is not None and number == self.killed_after:
                raise DriverKilled(f"killed after {number} batches")
            batch = list(items[start:start + self.batch_size])
            self.items_seen += batch
            if number in self.retried:
                work(batch)
            yield work(batch)


class FakePredictionShards:
    """Shards by output folder, under the names the file store gives them."""

    def __init__(self) -> None:
        self.shards: dict[str, dict[str, list[dict]]] = {}
        self.merged: dict[str, list[dict]] = {}
        self.errors: dict[str, list[str]] = {}
        self.runs: dict[str, dict] = {}

    def done(self, output: str) -> set[str]:
        return set(self._every(output).files_written)

    def write(self, output: str, outcome: BatchOutcome) -> str:
        name = shard_name(outcome.files)
        self.shards.setdefault(output, {})[name] = outcome.records()
        return f"memory://{output}/shards/{name}"

    def recorded_run(self, output: str) -> dict | None:
        return self.runs.get(output)

    def record_run(self, output: str, identity: dict) -> None:
        self.runs[output] = identity

    def merge(self, output: str, files: Sequence[str]) -> list[str]:
        every = self._every(output)
        self.merged[output] = list(every.lines)
        self.errors[output] = still_failed(every.failures, set(every.files_written), files)
        return [f"memory://{output}/predictions.jsonl"] + ([f"memory://{output}/errors.txt"] if self.errors[output] else [])

    def _every(self, output: str) -> BatchOutcome:
        return BatchOutcome.from_records(record for records in self.shards.get(output, {}).values() for record in records)
