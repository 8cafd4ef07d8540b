"""Use case: predict an archive of image files on a batch engine (Ray Data), resumably.

The driver lists the files, opens the model once to check the flags and pin the checkpoint the
workers open, skips the images an earlier run already wrote, and hands the rest to the engine.
Each worker opens that model once and runs the very code `unet predict` runs on its batches
(`FilePredictions`): the masks and overlays are written where the worker is, and the lines
come back to the driver, which writes each batch's lines as one shard. A final merge writes
predictions.jsonl in input order and errors.txt, one line per file that failed.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Iterator, Mapping, Sequence

import attrs

from unet_defects.application.options import InferenceOptions
from unet_defects.application.prediction import (
    FilePredictions,
    checked_inputs,
    describe_decisions,
    identity_difference,
    prediction_identity,
)
from unet_defects.application.prediction_ports import (
    BatchOutcome,
    BatchRunner,
    ImageSource,
    Item,
    PredictionShards,
    PredictionWriter,
)
from unet_defects.application.session import BEST_KEPT, SessionOpener
from unet_defects.domain.errors import ConfigError, DataError
from unet_defects.domain.resumption import pending


class ArchiveWorker:
    """A worker's side: one opened model, batches of (name, path) in, their outcome out. Opened
    where the driver's `expected` identity says: the same checkpoint, decisions, TTA and
    geometry (a calibration written since the driver started would change the lines)."""

    def __init__(self, predictions: FilePredictions, expected: Mapping | None = None) -> None:
        difference = "" if expected is None else identity_difference(expected, predictions.identity())
        if difference:
            raise ConfigError(f"a worker opened another model than the driver: {difference}; run the command again")
        self._predictions = predictions

    def __call__(self, items: Sequence[Item]) -> BatchOutcome:
        failures: list[tuple[str, str]] = []
        lines = [line for _, line, _, _ in self._predictions.run([name for name, _ in items], failures, dict(items))]
        return BatchOutcome(tuple(lines), tuple(failures))


WorkerOpener = Callable[[InferenceOptions, dict], ArchiveWorker]  # picklable: it runs on each worker


@attrs.frozen
class ArchiveReport:
    total: int  # the images named
    done_before: int  # written by earlier runs into the same output
    done: int  # written by this run
    failures: tuple[tuple[str, str], ...]  # this run's (file, error)
    written: tuple[str, ...]  # predictions.jsonl, and errors.txt when something failed
    source: str
    decision: str
    tta: str
    seconds: float  # the batch engine's whole run, start-up included
    first_batch_seconds: float  # until the first batch came back: the engine's and the workers' start-up


class ArchivePredictUseCase:
    def __init__(self, opener: SessionOpener, images: ImageSource, artifacts: PredictionWriter,
                 shards: PredictionShards, runner: BatchRunner, clock: Callable[[], float] = time.monotonic) -> None:
        self._opener = opener
        self._images = images
        self._artifacts = artifacts
        self._shards = shards
        self._runner = runner
        self._clock = clock

    def execute(self, inputs: Sequence[str], output: str, open_worker: WorkerOpener,
                options: InferenceOptions = InferenceOptions(), check_input: bool = True,
                progress: Callable[[int, int], None] | None = None) -> ArchiveReport:
        self._artifacts.check_output(output)
        files = checked_inputs(self._images.list(inputs), inputs)
        session = self._opener.open(options, BEST_KEPT, check_input=check_input)  # bad flags fail here, once
        # The workers open the checkpoint the driver chose, even if training keeps a better one meanwhile.
        pinned = options if session.is_export else attrs.evolve(options, checkpoint=session.path)
        identity = prediction_identity(session, session.geometry(options))
        done = self._shards.done(output)
        self._check_same_run(output, identity, bool(done))
        done_before = len(files) - len(todo := pending(files, done))
        items = [(name, self._images.locate(name)) for name in todo]
        started, first, written_now = self._clock(), None, 0
        failures: list[tuple[str, str]] = []
        for outcome in self._batches(items, functools.partial(open_worker, pinned, identity)):
            first = first if first is not None else self._clock() - started
            self._shards.write(output, outcome)
            written_now += len(outcome.lines)
            failures += outcome.failures
            if progress:
                progress(written_now + len(failures), len(items))
        seconds = self._clock() - started
        written = self._shards.merge(output, files)
        return ArchiveReport(total=len(files), done_before=done_before, done=written_now, failures=tuple(failures),
                             written=tuple(written), source=session.source, decision=describe_decisions(session),
                             tta=session.tta, seconds=seconds, first_batch_seconds=first or seconds)

    def _check_same_run(self, output: str, identity: dict, has_lines: bool) -> None:
        """A rerun adds to the lines of the same model and decision, or is refused: the output
        would mix two models' verdicts."""
        before = self._shards.recorded_run(output)
        difference = identity_difference(before, identity) if before is not None and has_lines else ""
        if difference:
            raise DataError(f"{output}: its images were predicted with another {difference}; predict into a new "
                            "--output, or delete its shards/ folder to start over")
        self._shards.record_run(output, identity)

    def _batches(self, items: list[Item], open_worker: Callable[[], ArchiveWorker]) -> Iterator[BatchOutcome]:
        if not items:
            return iter(())
        return self._runner.run(items, open_worker)
