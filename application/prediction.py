"""Use case: predict defect masks for image files with a trained model."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import attrs
import numpy as np

from application.ports import ArtifactStore, BestKeeper, Checkpoints, ImageSource, Model, ModelBuilder, Predictor
from application.restoring import restore_chosen
from domain import rle
from domain.data import DataSpec, normalize
from domain.errors import ConfigError, DataError
from domain.masks import DecisionRule
from domain.tiling import PredictGeometry, TilePlan, mode_for_fit
from domain.topology import UNetSpec


@attrs.frozen
class Submission:
    """A Kaggle Severstal submission: one row per image for `class_id` (None: the config's
    train_input.class_id), empty when the predicted defect area is below `min_area` pixels."""

    path: str
    class_id: int | None = None
    min_area: int = 0

    def row(self, name: str, decision: np.ndarray) -> tuple[str, int, str]:
        encoded = rle.encode(decision) if int(np.count_nonzero(decision)) >= max(self.min_area, 1) else ""
        return Path(name).name, self.class_id, encoded


@attrs.frozen
class PredictionReport:
    step: int
    source: str  # which checkpoint, in words
    images_done: int
    written: tuple[str, ...]
    failures: tuple[str, ...]  # one line per file that could not be read


class PredictUseCase:
    """Read images, run the model from the latest (or given) checkpoint, write masks and overlays.

    `resize` geometry squashes each image to the training size; `native` keeps its scale,
    padding it to the network's stride and cutting large images into blended tiles. Either
    way images go through the model in batches of `batch_size` (tiles of several images share
    a batch) while the image source reads the next files.
    """

    def __init__(
        self,
        builder: ModelBuilder,
        checkpoints: Checkpoints,
        best: BestKeeper,
        predictor: Predictor,
        images: ImageSource,
        artifacts: ArtifactStore,
        topology: UNetSpec,
        data: DataSpec,
        rule: DecisionRule,
        batch_size: int = 8,
    ) -> None:
        self._builder = builder
        self._checkpoints = checkpoints
        self._best = best
        self._predictor = predictor
        self._images = images
        self._artifacts = artifacts
        self._topology = topology
        self._data = data
        self._rule = rule
        self._batch_size = batch_size

    def default_geometry(self, mode: str | None = None, tile: tuple[int, int] | None = None,
                         overlap: int | None = None) -> PredictGeometry:
        """The training's geometry (native after crop training) unless given; tiles of the
        training size at the network's stride, overlapping by an eighth of their shorter side
        (at most 32 pixels)."""
        mode = mode or mode_for_fit(self._data.image_fit)
        tile = tile or (self._data.height, self._data.width)
        overlap = min(32, min(tile) // 8) if overlap is None else overlap
        return PredictGeometry(mode=mode, tile=tile, overlap=overlap, stride=self._topology.stride)

    def execute(
        self,
        inputs: Sequence[str],
        output: str,
        checkpoint: str | None = None,
        threshold: float | None = None,
        progress: Callable[[int, int], None] | None = None,
        save_probabilities: bool = False,
        submission: Submission | None = None,
        geometry: PredictGeometry | None = None,
    ) -> PredictionReport:
        rule = self._rule if threshold is None else DecisionRule(threshold=threshold, space="probability")
        geometry = geometry or self.default_geometry()
        submission = self._with_class_id(submission) if submission is not None else None
        files = self._images.list(inputs)
        if not files:
            raise DataError(f"{', '.join(inputs)}: no image files found")
        model = self._builder.build(self._topology)
        restored, source = restore_chosen(self._checkpoints, self._best, model, checkpoint)
        step = restored.step
        written: list[str] = []
        failures: list[str] = []
        rows: list[tuple[str, int, str]] = []
        done = 0
        predictions = (self._resized if geometry.mode == "resize" else self._tiled)(model, files, failures, geometry)
        for name, image, probabilities in predictions:
            decision = rule.on_probabilities(probabilities)
            written += self._artifacts.write_prediction(output, name, image, probabilities, decision, save_probabilities)
            if submission is not None:
                rows.append(submission.row(name, decision))
            done += 1
            if progress:
                progress(done + len(failures), len(files))
        if submission is not None:
            written.append(self._artifacts.write_submission(submission.path, rows))
        return PredictionReport(step=step, source=source, images_done=done, written=tuple(written), failures=tuple(failures))

    def _with_class_id(self, submission: Submission) -> Submission:
        if submission.class_id is not None:
            return submission
        if self._data.class_id is None:
            raise ConfigError("--class_id: required with --rle-csv (the config names no train_input.class_id)")
        return attrs.evolve(submission, class_id=self._data.class_id)

    def _readable(self, files: Sequence[str], failures: list[str]) -> Iterator[tuple[str, np.ndarray]]:
        for name, image, error in self._images.stream(files):
            if image is None:
                failures.append(error)
            else:
                yield name, image

    def _model_input(self, image: np.ndarray) -> np.ndarray:
        """(H, W) uint8 -> normalized (H, W, C); a gray image feeds every input channel."""
        normalized = normalize(image[..., None], self._data.normalization())
        return np.repeat(normalized, self._data.channels, axis=-1)

    def _resized(self, model: Model, files: Sequence[str], failures: list[str],
                 geometry: PredictGeometry) -> Iterator[Prediction]:
        size = (self._data.height, self._data.width)
        pending: list[tuple[str, np.ndarray]] = []
        for item in itertools.chain(self._readable(files, failures), [None]):
            if item is not None:
                pending.append(item)
            if pending and (item is None or len(pending) == self._batch_size):
                outputs = self._predictor.predict(model, [self._model_input(image) for _, image in pending], size)
                for (name, image), probabilities in zip(pending, outputs):
                    yield name, image, probabilities
                pending = []

    def _tiled(self, model: Model, files: Sequence[str], failures: list[str],
               geometry: PredictGeometry) -> Iterator[Prediction]:
        """Tiles wait in one queue per tile shape; a full queue runs as one batch. An image is
        yielded (in input order) once all its tiles are back."""
        jobs: list[_TiledImage] = []
        queues: dict[tuple[int, int], list[tuple[_TiledImage, int, np.ndarray]]] = {}

        def run(shape: tuple[int, int]) -> None:
            queue = queues.pop(shape)
            outputs = self._predictor.predict_tiles(model, np.stack([tile for _, _, tile in queue]))
            for (job, index, _), output in zip(queue, outputs):
                job.outputs[index] = output

        def finished() -> Iterator[Prediction]:
            while jobs and jobs[0].complete():
                job = jobs.pop(0)
                yield job.name, job.image, job.plan.stitch(job.outputs)

        for name, image in self._readable(files, failures):
            plan = TilePlan.for_image(*image.shape, geometry)
            job = _TiledImage(name, image, plan, [None] * len(plan.origins))
            jobs.append(job)
            for index, tile in enumerate(plan.tiles(self._model_input(image))):
                queue = queues.setdefault(plan.tile_shape, [])
                queue.append((job, index, tile))
                if len(queue) == self._batch_size:
                    run(plan.tile_shape)
            if len(jobs) > 4 * self._batch_size:  # a lone tile shape must not hold every image back
                for shape in list(queues):
                    run(shape)
            yield from finished()
        for shape in list(queues):
            run(shape)
        yield from finished()


Prediction = tuple[str, np.ndarray, np.ndarray]  # name, (H, W) uint8 image, (H, W) probabilities


@attrs.define
class _TiledImage:
    name: str
    image: np.ndarray
    plan: TilePlan
    outputs: list[np.ndarray | None]

    def complete(self) -> bool:
        return all(output is not None for output in self.outputs)
