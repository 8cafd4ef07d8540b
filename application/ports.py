"""Ports (typing.Protocol) owned by the use cases; adapters and fakes implement them.

Each executor role is its own small port: checkpoints, trainer, evaluator, predictor,
exporter, compiler, benchmarker. Tensors never pass through application code: models and
streams of batches are opaque handles that a builder or reader makes and the role adapters
consume; everything the application reads comes back as plain values.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, Protocol

import attrs
import numpy as np

from unet_defects.application.values import (
    BatchSpec,
    BenchmarkRun,
    BestCheckpoint,
    ChartPanel,
    CheckpointRef,
    CompileDetails,
    EvaluatedMap,
    ExportManifest,
    ExportRequest,
    ImageEvaluation,
    LabelledImage,
    RunScalars,
    TrainOutcome,
)
from unet_defects.domain.calibration import Calibration, ComponentTable
from unet_defects.domain.data import DataSpec, Sample
from unet_defects.domain.defects import DefectCounts, DefectRecord
from unet_defects.domain.experiment import ExperimentSpec
from unet_defects.domain.masks import DecisionRule
from unet_defects.domain.topology import UNetSpec

if TYPE_CHECKING:  # it reads the evaluation's tally, which reads these ports' values
    from unet_defects.application.evaluation_pictures import EvaluationPictures

# Opaque handles: made by a ModelBuilder or DatasetReader, read only by the role adapters.
Model = Any
Batches = Any


class ModelBuilder(Protocol):
    def build(self, spec: UNetSpec) -> Model:
        """A model object the role adapters can train, evaluate and run."""


class DatasetReader(Protocol):
    def training_stream(self) -> Batches:
        """An endless stream of shuffled, augmented (image, mask) batches."""

    def evaluation_stream(self, split: str = "eval") -> Batches:
        """Every image of a split exactly once, in a fixed order: "eval" (the validation part of
        the training images when train_input.validation_split is set, else the evaluation images),
        "curve" ("eval", or its stratified train_input.validation_sample: the learning curve's) or
        "test" (the evaluation images, when a validation part chooses checkpoints)."""

    def evaluation_names(self, split: str = "eval") -> list[str]:
        """Each image's name in evaluation_stream(split)'s order (the worst-images mosaic writes
        them); empty when the images have none (records, arrays)."""

    def training_size(self) -> int:
        """How many training images (or samples) the training stream draws from."""


class SampleSource(Protocol):
    def samples(self, split: str) -> list[Sample]:
        """The checked image/mask files of "train" or "eval"."""


class TrainingObserver(Protocol):
    def started(self, start_step: int, target_step: int, time_budget: float | None = None) -> None: ...

    def progressed(self, step: int, loss: float, images_per_second: float, log_line: bool) -> None: ...

    def checkpointed(self, step: int, path: str) -> None: ...

    def finished(self, outcome: TrainOutcome) -> None: ...

    def message(self, text: str) -> None: ...


@attrs.frozen
class TrainingJob:
    """What a trainer needs: how to build the model and open the stream (it decides where and
    when: under a distribution scope, inside an Estimator's model_fn), and how far to go."""

    build_model: Callable[[], Model]
    open_stream: Callable[[], Batches]
    target_step: int
    observer: TrainingObserver
    after_checkpoint: Callable[[CheckpointRef], None] | None = None
    time_budget: float | None = None  # seconds this call may train, evaluations included


@attrs.frozen(kw_only=True)
class CompileJob:
    build_model: Callable[[], Model]
    open_stream: Callable[[], Batches]
    batch: BatchSpec
    output: str


class Checkpoints(Protocol):
    def list(self) -> list[CheckpointRef]:
        """Every kept checkpoint of the model_dir, in step order."""

    def restore(self, model: Model, checkpoint: str | None = None) -> CheckpointRef:
        """Load the given checkpoint (file or folder), or the newest readable one, into `model`."""


class BestKeeper(Protocol):
    def best(self) -> BestCheckpoint | None:
        """The checkpoint kept for its score, or None before one is."""

    def keep(self, checkpoint: CheckpointRef, score: str, value: float) -> BestCheckpoint:
        """Keep a copy of `checkpoint` as the best, out of reach of keep_checkpoint_max."""


class Trainer(Protocol):
    def train(self, job: TrainingJob) -> TrainOutcome:
        """Build the model, resume from the latest checkpoint and train until `job.target_step`."""


class Evaluator(Protocol):
    def evaluate(self, model: Model, stream: Batches, rules: Sequence[DecisionRule],
                 ignore_labels: Sequence[int] = (), max_batches: int | None = None) -> Iterator[ImageEvaluation]:
        """Per image, in stream order: its confusion counts under each rule and its picture."""


    def maps(self, engine: InferenceEngine, stream: Batches, max_batches: int | None = None,
             ignore_labels: Sequence[int] = ()) -> Iterator[EvaluatedMap]:
        """Per image, in stream order: the engine's probabilities with the truth, unpadded."""

    def images(self, stream: Batches, max_batches: int | None = None,
               ignore_labels: Sequence[int] = ()) -> Iterator[LabelledImage]:
        """Per image, in stream order: the image as read (uint8 gray) with its truth, unpadded."""


class InferenceEngine(Protocol):
    name: str
    has_classifier: bool  # the network has a classifier head: `outputs` gives its image probabilities

    def outputs(self, batch: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """For normalized (N, H, W, C) float32 inputs: the pixel probabilities (N, H, W, K), a
        channel per defect class (K = 1 for one), and the classifier head's (N, K) image probabilities
        (None without a head)."""


class Engines(Protocol):
    def from_model(self, model: Model) -> InferenceEngine:
        """The TensorFlow engine of a built (restored) model."""

    def from_export(self, engine: str, directory: str) -> tuple[InferenceEngine, ExportManifest]:
        """Load an export with the named engine; the manifest says how it expects its input."""


class Components(Protocol):
    def remove_small(self, decision: np.ndarray, min_area: int) -> np.ndarray:
        """The boolean decision without its connected components of fewer than `min_area` pixels."""

    def table(self, decision: np.ndarray, truth: np.ndarray) -> ComponentTable:
        """Each connected component's area and true-defect pixels."""

    def records(self, probabilities: np.ndarray, decision: np.ndarray) -> list[DefectRecord]:
        """One record per connected component of the decision, largest first."""

    def match(self, truth: np.ndarray, decision: np.ndarray) -> DefectCounts:
        """Which true components the decision's components touch, and which of them touch one."""


class CalibrationStore(Protocol):
    def load(self, class_ids: Sequence[int] = (1,)) -> tuple[Calibration, ...] | None:
        """The model_dir's decision per class of `class_ids`, None when it has none; one that
        calibrates other classes is a DataError."""

    def save(self, calibrations: Sequence[Calibration], tables: Sequence[Sequence[dict]],
             gate_tables: Sequence[Sequence[dict]] = ()) -> str:
        """Write one calibration per class (class_id None: the one class) and the scores of
        every candidate of each (and of each gate candidate, with a classifier head); return where."""

    @property
    def location(self) -> str: ...


class Predictor(Protocol):
    def predict(self, engine: InferenceEngine, images: Sequence[np.ndarray],
                size: tuple[int, int]) -> tuple[list[np.ndarray], np.ndarray | None]:
        """(H, W, K) defect probabilities for normalized (H, W, C) float images resized to `size`, returned
        at each image's own size, and the classifier head's (N, K) image probabilities (None
        without one)."""

    def predict_tiles(self, engine: InferenceEngine, tiles: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """Defect probabilities (N, h, w, K) for a batch of normalized (N, h, w, C) tiles, h and w
        multiples of the network's stride, and the head's (N, K) probabilities of each tile."""


class Exporter(Protocol):
    def export(self, model: Model, request: ExportRequest) -> str:
        """Write the artifact of `request.format` and its manifest into `request.output`."""


class Compiler(Protocol):
    def describe(self, stream: Batches) -> BatchSpec:
        """What one batch of the stream holds, as plain values."""

    def validate(self, job: CompileJob) -> list[str]:
        """Check (not run) one training step for the job's batches; problems, one line each."""

    def compile(self, job: CompileJob) -> CompileDetails:
        """Compile one training step for the device and write what it produced under `job.output`."""


class Benchmarker(Protocol):
    def benchmark(self, model: Model, stream: Batches, kind: str, steps: int, warmup_steps: int) -> BenchmarkRun:
        """Run `warmup_steps` then `steps` training ("train") or inference ("inference") steps."""


class EngineTimer(Protocol):
    def time(self, engine: InferenceEngine, batch: np.ndarray, steps: int, warmup_steps: int,
             precision: str) -> BenchmarkRun:
        """Run `warmup_steps` then `steps` calls of the engine on `batch`, timing each."""


class ConfigStore(Protocol):
    def saved(self) -> ExperimentSpec | None:
        """The configuration a model_dir was trained with, or None when it holds none."""

    def save(self, experiment: ExperimentSpec) -> str:
        """Record the configuration in the model_dir; return where."""


class EvaluationResultLike(Protocol):
    # Read-only: the results are frozen.
    @property
    def step(self) -> int: ...

    @property
    def num_images(self) -> int: ...

    @property
    def split(self) -> str: ...

    def as_dict(self) -> dict: ...


class ResultStore(Protocol):
    """An evaluation's files in the model_dir (results.json, sample pictures)."""

    def write_evaluation(self, result: EvaluationResultLike) -> list[str]:
        """Persist scores and sample pictures (a test split's apart); return what was written."""

    def write_final(self, validation: EvaluationResultLike, test: EvaluationResultLike) -> str:
        """The run's results: the test's scores at the top, both splits' in their own blocks."""


class PictureWriter(Protocol):
    def write(self, pictures: EvaluationPictures) -> list[str]:
        """Draw an evaluation's pictures in its split's folder, and keep what they were drawn from."""

    def redraw(self) -> list[str]:
        """Every split's pictures drawn again from what was kept (`unet report`)."""


class RunHistory(Protocol):
    def scalars(self) -> RunScalars:
        """The run's training and evaluation series, read back from what it wrote."""


class ChartRenderer(Protocol):
    def draw(self, path: str, title: str, panels: Sequence[ChartPanel]) -> str:
        """Draw the panels into one picture at `path`; return the path written."""


class RecordWriter(Protocol):
    def write_split(self, samples: Sequence[Sample], directory: str, split: str, images_per_file: int,
                    progress: Callable[[int, int], None] | None = None) -> list[str]:
        """Write the samples of one split ("train" or "eval") as shards; return their paths."""

    def write_manifest(self, directory: str, counts: dict[str, int], spec: DataSpec, source: dict) -> str:
        """Write what the shards hold and where they came from; return its path."""
