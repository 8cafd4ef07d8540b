"""Use case: predict defect masks for image files with a trained model."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import attrs
import numpy as np

from application.inference import Decision, calibrated, settle_decision, with_tta
from application.ports import (
    ArtifactStore,
    BestKeeper,
    CalibrationStore,
    Checkpoints,
    Components,
    Engines,
    ImageSource,
    InferenceEngine,
    ModelBuilder,
    Predictor,
)
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
    train_input.class_id), empty when the predicted defect area (after the removal of small
    components) is below `min_total_area` pixels."""

    path: str
    class_id: int | None = None
    min_total_area: int = 0

    def row(self, name: str, decision: np.ndarray) -> tuple[str, int, str]:
        encoded = rle.encode(decision) if int(np.count_nonzero(decision)) >= max(self.min_total_area, 1) else ""
        return Path(name).name, self.class_id, encoded


@attrs.frozen
class PredictionReport:
    step: int
    source: str  # which checkpoint or export, in words
    images_done: int
    written: tuple[str, ...]
    failures: tuple[str, ...]  # one line per file that could not be read
    geometry: PredictGeometry | None = None
    decision: str = ""  # threshold and min_area, and where they came from
    tta: str = "none"


@attrs.frozen(eq=False)
class Network:
    """An engine ready to run, and how it takes images."""

    engine: InferenceEngine
    step: int
    source: str
    size: tuple[int, int]  # the training size: resize target and default tile
    channels: int
    normalization: tuple[float, float]
    stride: int
    mode: str  # the geometry it was trained for
    decision: Decision
    baked_tta: str = "none"


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
        engines: Engines | None = None,
        components: Components | None = None,
        calibration: CalibrationStore | None = None,
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
        self._engines = engines
        self._components = components
        self._calibration = calibration

    def default_geometry(self, mode: str | None = None, tile: tuple[int, int] | None = None,
                         overlap: int | None = None, network: Network | None = None) -> PredictGeometry:
        """The training's geometry (native after crop training) unless given; tiles of the
        training size at the network's stride, overlapping by an eighth of their shorter side
        (at most 32 pixels)."""
        mode = mode or (network.mode if network else mode_for_fit(self._data.image_fit))
        tile = tile or (network.size if network else (self._data.height, self._data.width))
        overlap = min(32, min(tile) // 8) if overlap is None else overlap
        stride = network.stride if network else self._topology.stride
        return PredictGeometry(mode=mode, tile=tile, overlap=overlap, stride=stride)

    def open(self, checkpoint: str | None = None, threshold: float | None = None, min_area: int | None = None,
             engine: str = "tensorflow", model: str | None = None) -> Network:
        """The model_dir's checkpoint (the given one, else the best kept, else the latest) with
        its calibration, or an export run by `engine` with its manifest; flags override both."""
        if model is not None:
            if self._engines is None:
                raise ValueError("running an export needs the engines adapter")
            loaded, manifest = self._engines.from_export(engine, model)
            base = Decision(manifest.threshold, manifest.min_area, manifest.area_at, f"{model}/unet_export.json")
            decision = settle_decision(base, threshold, min_area)
            return Network(engine=loaded, step=manifest.step, source=f"the export {model} ({engine}, "
                           f"{manifest.format}, {manifest.precision}, step {manifest.step})",
                           size=manifest.input_size, channels=manifest.channels,
                           normalization=manifest.normalization, stride=manifest.stride, mode=manifest.geometry,
                           decision=decision, baked_tta=manifest.tta)
        if engine != "tensorflow":
            raise ConfigError(f"--engine {engine}: needs --model EXPORT_DIR (an export made by unet export)")
        built = self._builder.build(self._topology)
        restored, source = restore_chosen(self._checkpoints, self._best, built, checkpoint)
        decision = settle_decision(calibrated(self._rule.probability_cutoff, self._calibration), threshold, min_area)
        loaded = self._engines.from_model(built) if self._engines is not None else built
        return Network(engine=loaded, step=restored.step, source=source, size=(self._data.height, self._data.width),
                       channels=self._data.channels, normalization=self._data.normalization(),
                       stride=self._topology.stride, mode=mode_for_fit(self._data.image_fit), decision=decision)

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
        min_area: int | None = None,
        tta: str | None = None,
        engine: str = "tensorflow",
        model: str | None = None,
        tile: tuple[int, int] | None = None,
        overlap: int | None = None,
        mode: str | None = None,
    ) -> PredictionReport:
        submission = self._with_class_id(submission) if submission is not None else None
        files = self._images.list(inputs)
        if not files:
            raise DataError(f"{', '.join(inputs)}: no image files found")
        network = self.open(checkpoint, threshold, min_area, engine, model)
        geometry = geometry or self.default_geometry(mode, tile, overlap, network)
        tta = tta or "none"
        if tta != "none" and network.baked_tta != "none":
            raise ConfigError(f"--tta {tta}: {model} has tta {network.baked_tta} built in; drop --tta")
        runner = attrs.evolve(network, engine=with_tta(network.engine, tta))
        written: list[str] = []
        failures: list[str] = []
        rows: list[tuple[str, int, str]] = []
        done = 0
        predictions = (self._resized if geometry.mode == "resize" else self._tiled)(runner, files, failures, geometry)
        for name, image, probabilities in predictions:
            decision = network.decision.apply(probabilities, self._components)
            written += self._artifacts.write_prediction(output, name, image, probabilities, decision, save_probabilities)
            if submission is not None:
                rows.append(submission.row(name, decision))
            done += 1
            if progress:
                progress(done + len(failures), len(files))
        if submission is not None:
            written.append(self._artifacts.write_submission(submission.path, rows))
        return PredictionReport(step=network.step, source=network.source, images_done=done, written=tuple(written),
                                failures=tuple(failures), geometry=geometry, decision=network.decision.describe(),
                                tta=network.baked_tta if network.baked_tta != "none" else tta)

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

    @staticmethod
    def _model_input(network: Network, image: np.ndarray) -> np.ndarray:
        """(H, W) uint8 -> normalized (H, W, C); a gray image feeds every input channel."""
        normalized = normalize(image[..., None], network.normalization)
        return np.repeat(normalized, network.channels, axis=-1)

    def _resized(self, network: Network, files: Sequence[str], failures: list[str],
                 geometry: PredictGeometry) -> Iterator[Prediction]:
        size = network.size
        pending: list[tuple[str, np.ndarray]] = []
        for item in itertools.chain(self._readable(files, failures), [None]):
            if item is not None:
                pending.append(item)
            if pending and (item is None or len(pending) == self._batch_size):
                outputs = self._predictor.predict(network.engine, [self._model_input(network, image)
                                                                   for _, image in pending], size)
                for (name, image), probabilities in zip(pending, outputs):
                    yield name, image, probabilities
                pending = []

    def _tiled(self, network: Network, files: Sequence[str], failures: list[str],
               geometry: PredictGeometry) -> Iterator[Prediction]:
        """Tiles wait in one queue per tile shape; a full queue runs as one batch. An image is
        yielded (in input order) once all its tiles are back."""
        jobs: list[_TiledImage] = []
        queues: dict[tuple[int, int], list[tuple[_TiledImage, int, np.ndarray]]] = {}

        def run(shape: tuple[int, int]) -> None:
            queue = queues.pop(shape)
            outputs = self._predictor.predict_tiles(network.engine, np.stack([tile for _, _, tile in queue]))
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
            for index, tile in enumerate(plan.tiles(self._model_input(network, image))):
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
