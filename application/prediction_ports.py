"""Ports of `unet predict`: the image files in and the output folder's files out (one process),
and for an archive on a batch engine, the engine that spreads batches over workers and the
output folder's store of shards."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Protocol

import attrs
import numpy as np

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


class ImageSource(Protocol):
    def list(self, inputs: Sequence[str]) -> list[str]:
        """The image files named by files, folders, globs and list files, each once, in a
        stable order."""

    def locate(self, name: str) -> str:
        """Where another process, on this machine or another, reads the file `name` (an
        absolute path for files)."""

    def stream(self, names: Sequence[str], max_pixels: int | None = None) -> Iterator[tuple[str, np.ndarray | None, str]]:
        """(name, (H, W) uint8 grayscale image, "") per name in order, or (name, None, one-line
        error) for a file that cannot be read or declares more than `max_pixels`."""


class PredictionWriter(Protocol):
    """What `unet predict` leaves in its output folder (masks, overlays, predictions.jsonl) and
    the Severstal submission."""

    def write_prediction(
        self, output: str, name: str, image: np.ndarray, probabilities: np.ndarray, decision: np.ndarray,
        save_probabilities: bool = False, class_ids: Sequence[int] = (),
    ) -> list[str]:
        """Persist one image's mask and overlay (and probabilities); return what was written.
        With `class_ids` (several classes) the arrays are (H, W, K): a mask per class."""

    def write_submission(self, path: str, rows: Sequence[tuple[str, int, str]]) -> str:
        """Write `ImageId,ClassId,EncodedPixels` rows as a CSV file; return its path."""

    def check_output(self, output: str) -> None:
        """Fail in one line, before any work, when `output` cannot be a folder of results."""

    def write_lines(self, output: str, name: str, rows: Sequence[dict]) -> str:
        """Write one JSON object per line into `output/name`; return its path."""


class ProposalWriter(Protocol):
    """The kept defects of each image in a labelling tool's format (COCO, LabelMe), for a person
    to open and correct: the model's proposals."""

    def add(self, name: str, image_file: str, masks: np.ndarray, probabilities: np.ndarray) -> list[str]:
        """One image's (H, W, K) decided masks and probabilities; the files written now."""

    def close(self) -> list[str]:
        """The files written at the end (a format holding every image in one file)."""


# (formats, output folder, a class name per channel) -> the writer of those formats
ProposalsOpener = Callable[[Sequence[str], str, Sequence[str]], ProposalWriter]


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
