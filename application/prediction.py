"""Use case: predict defect masks for image files with a trained model."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import attrs
import numpy as np

from application.ports import ArtifactStore, Executor, ImageSource, ModelBuilder
from domain import rle
from domain.data import DataSpec, normalize
from domain.errors import DataError
from domain.masks import DecisionRule
from domain.topology import UNetSpec


@attrs.frozen
class Submission:
    """A Kaggle Severstal submission: one row per image for `class_id`, empty when the
    predicted defect area is below `min_area` pixels."""

    path: str
    class_id: int
    min_area: int = 0

    def row(self, name: str, decision: np.ndarray) -> tuple[str, int, str]:
        encoded = rle.encode(decision) if int(np.count_nonzero(decision)) >= max(self.min_area, 1) else ""
        return Path(name).name, self.class_id, encoded


@attrs.frozen
class PredictionReport:
    step: int
    images_done: int
    written: tuple[str, ...]
    failures: tuple[str, ...]  # one line per file that could not be read


class PredictUseCase:
    """Read images, run the model from the latest (or given) checkpoint, write masks and overlays."""

    def __init__(
        self,
        builder: ModelBuilder,
        executor: Executor,
        images: ImageSource,
        artifacts: ArtifactStore,
        topology: UNetSpec,
        data: DataSpec,
        rule: DecisionRule,
        batch_size: int = 8,
    ) -> None:
        self._builder = builder
        self._executor = executor
        self._images = images
        self._artifacts = artifacts
        self._topology = topology
        self._data = data
        self._rule = rule
        self._batch_size = batch_size

    def execute(
        self,
        inputs: Sequence[str],
        output: str,
        checkpoint: str | None = None,
        threshold: float | None = None,
        progress: Callable[[int, int], None] | None = None,
        save_probabilities: bool = False,
        submission: Submission | None = None,
    ) -> PredictionReport:
        rule = self._rule if threshold is None else DecisionRule(threshold=threshold, space="probability")
        files = self._images.list(inputs)
        if not files:
            raise DataError(f"{', '.join(inputs)}: no image files found")
        model = self._builder.build(self._topology)
        step = self._executor.restore(model, checkpoint)
        size = (self._data.height, self._data.width)
        written: list[str] = []
        failures: list[str] = []
        rows: list[tuple[str, int, str]] = []
        done = 0
        for start in range(0, len(files), self._batch_size):
            names, images = [], []
            for name in files[start : start + self._batch_size]:
                try:
                    images.append(self._images.read(name))
                    names.append(name)
                except DataError as error:
                    failures.append(str(error))
            if images:
                # Gray images feed every input channel the model was trained with.
                channels = self._data.channels
                inputs_ = [
                    np.repeat(normalize(image[..., None], self._data.normalization()), channels, axis=-1)
                    for image in images
                ]
                for name, image, probabilities in zip(names, images, self._executor.predict(model, inputs_, size)):
                    decision = rule.on_probabilities(probabilities)
                    written += self._artifacts.write_prediction(
                        output, name, image, probabilities, decision, save_probabilities
                    )
                    if submission is not None:
                        rows.append(submission.row(name, decision))
                    done += 1
            if progress:
                progress(min(start + self._batch_size, len(files)), len(files))
        if submission is not None:
            written.append(self._artifacts.write_submission(submission.path, rows))
        return PredictionReport(step=step, images_done=done, written=tuple(written), failures=tuple(failures))
