"""The drift reference's files: drift_reference.json in the model_dir (written whole, atomically)
and its copy in an export's manifest; and the training images it is measured on, read as
`unet predict` reads a file."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np

from unet_defects.adapters.artifacts import read_json_object, write_json
from unet_defects.adapters.images import read_gray
from unet_defects.adapters.runtimes.manifest import carry_drift_payload, read_drift_payload
from unet_defects.application.ports import SampleSource
from unet_defects.domain.drift_reference import DriftReference

REFERENCE_FILE = "drift_reference.json"


class FileDriftReferences:
    """`export`: the Inspector runs an export, whose manifest holds the reference; else the
    model_dir's file."""

    def __init__(self, model_dir: str, export: str | None = None) -> None:
        self._path = Path(model_dir) / REFERENCE_FILE
        self._export = export

    def load(self) -> DriftReference | None:
        if self._export is not None:
            where, payload = read_drift_payload(self._export)
            return None if payload is None else DriftReference.from_dict(payload, f"{where}: drift_reference")
        return self._own()

    def save(self, reference: DriftReference) -> str:
        self._path.parent.mkdir(parents=True, exist_ok=True)
        write_json(self._path, reference.as_dict())
        return str(self._path)

    def carry(self, export_dir: str) -> bool:
        reference = self._own()
        if reference is None:
            return False
        carry_drift_payload(export_dir, reference.as_dict())
        return True

    def _own(self) -> DriftReference | None:
        if not self._path.is_file():
            return None
        return DriftReference.from_dict(read_json_object(self._path), str(self._path))


class FileTrainingImages:
    """The training split's image files (`source`: the dataset's, None when it reads none)."""

    def __init__(self, source: SampleSource | None) -> None:
        self._source = source

    def sample(self, limit: int, seed: int) -> tuple[int, Iterator[np.ndarray]]:
        if self._source is None:
            return 0, iter(())
        samples = self._source.samples("train")
        chosen = np.random.default_rng(seed).permutation(len(samples))[:limit]
        return len(samples), (read_gray(samples[index].image) for index in sorted(chosen))
