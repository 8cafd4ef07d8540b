"""Use case: predict defect masks for image files with a trained model."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import attrs
import numpy as np

from application.ports import ArtifactStore, Executor, ImageSource, ModelBuilder
from domain.data import DataSpec, normalize
from domain.errors import DataError
from domain.masks import DecisionRule
from domain.topology import UNetSpec


@attrs.frozen
class PredictionReport:
    step: int
    written: tuple[str, ...]
    failures: tuple[str, ...]  # one line per file that could not be read

    @property
    def images_done(self) -> int:
        return len(self.written) // 2


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
                    written += self._artifacts.write_prediction(output, name, image, probabilities, decision)
            if progress:
                progress(min(start + self._batch_size, len(files)), len(files))
        return PredictionReport(step=step, written=tuple(written), failures=tuple(failures))
