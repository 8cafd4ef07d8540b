"""Ports (typing.Protocol) owned by the use cases; adapters and fakes implement them.

Tensors never pass through application code: streams and models are opaque objects that a
reader or builder hands to the executor.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any, Protocol

import attrs
import numpy as np

from domain.masks import DecisionRule
from domain.metrics import ConfusionMatrix
from domain.topology import UNetSpec


@attrs.frozen
class CheckpointRef:
    step: int
    path: str


@attrs.frozen
class TrainOutcome:
    start_step: int
    final_step: int
    last_loss: float | None = None
    images_per_second: float | None = None
    seconds: float = 0.0

    @property
    def steps_run(self) -> int:
        return self.final_step - self.start_step


@attrs.frozen
class SamplePicture:
    """One evaluation image with its truth and prediction, for the sample pictures."""

    index: int
    image: np.ndarray = attrs.field(eq=False)  # uint8 (H, W)
    truth: np.ndarray = attrs.field(eq=False)  # bool (H, W)
    prediction: np.ndarray = attrs.field(eq=False)  # bool (H, W)


@attrs.frozen
class EvaluationCounts:
    step: int
    total: ConfusionMatrix
    per_image: tuple[ConfusionMatrix, ...]
    # Per-image counts under each extra decision rule, in the order the rules were given.
    extra: tuple[tuple[ConfusionMatrix, ...], ...] = ()

    @property
    def num_images(self) -> int:
        return len(self.per_image)


@attrs.frozen
class BenchmarkRun:
    """Per-step seconds of the measured steps (warm-up excluded) and what ran them."""

    step_seconds: tuple[float, ...]
    peak_memory_bytes: int
    device: str
    precision: str
    data_format: str


class ModelBuilder(Protocol):
    def build(self, spec: UNetSpec) -> Any:
        """A model object the executor can train, evaluate and run."""


class DatasetReader(Protocol):
    def training_stream(self) -> Any:
        """An endless stream of shuffled, augmented (image, mask) batches."""

    def evaluation_stream(self) -> Any:
        """Every evaluation image exactly once, in a fixed order."""

    def training_size(self) -> int: ...

    def evaluation_size(self) -> int: ...


class TrainingObserver(Protocol):
    def started(self, start_step: int, target_step: int) -> None: ...

    def progressed(self, step: int, loss: float, images_per_second: float, log_line: bool) -> None: ...

    def checkpointed(self, step: int, path: str) -> None: ...

    def finished(self, outcome: TrainOutcome) -> None: ...

    def message(self, text: str) -> None: ...


class Executor(Protocol):
    def latest_step(self) -> int:
        """The step of the newest checkpoint in model_dir, 0 when there is none."""

    def checkpoints(self) -> list[CheckpointRef]:
        """Every kept checkpoint, in step order."""

    def train(
        self,
        model: Any,
        stream: Any,
        target_step: int,
        observer: TrainingObserver,
        after_checkpoint: Callable[[int], None] | None = None,
    ) -> TrainOutcome:
        """Resume from the latest checkpoint and train until `target_step`."""

    def scope(self) -> Any:
        """A context manager under which models for `train` must be built (distribution)."""

    def restore(self, model: Any, checkpoint: str | None = None) -> int:
        """Load the given (or latest) checkpoint into `model`; return its step."""

    def evaluate(
        self,
        model: Any,
        stream: Any,
        rule: DecisionRule,
        ignore_labels: Sequence[int] = (),
        max_batches: int | None = None,
        keeper: Any = None,
        extra_rules: Sequence[DecisionRule] = (),
    ) -> EvaluationCounts:
        """Confusion counts of the restored model over the stream, under `rule` and each extra rule.

        Each image is offered to `keeper` (an application.samples.SampleKeeper) with its Dice."""

    def predict(self, model: Any, images: Sequence[np.ndarray], size: tuple[int, int]) -> list[np.ndarray]:
        """Defect probabilities for normalized (H, W, C) float images, at each image's own size."""

    def predict_tiles(self, model: Any, tiles: np.ndarray) -> np.ndarray:
        """Defect probabilities (N, h, w) for a batch of normalized (N, h, w, C) tiles, h and w
        multiples of the network's stride."""

    def export(self, model: Any, output: str, size: tuple[int, int], normalization: tuple[float, float],
               threshold: float, step: int, native_stride: int | None = None) -> str:
        """Write a serving artifact: uint8 gray images of any size in, probabilities and mask out."""

    def benchmark(self, model: Any, stream: Any, kind: str, steps: int, warmup_steps: int) -> BenchmarkRun:
        """Run `warmup_steps` then `steps` training ("train") or inference ("inference") steps."""

    def validate(self, model: Any, element_spec: Any) -> list[str]:
        """Trace (not run) one training step for batches of `element_spec`; problems, one line each."""

    def compile(self, model: Any, element_spec: Any, output: str) -> dict[str, Any]:
        """Compile one training step for the device and write what it produced under `output`."""


class ImageSource(Protocol):
    def list(self, inputs: Sequence[str]) -> list[str]:
        """The image files named by files and folders, in a stable order."""

    def stream(self, names: Sequence[str]) -> Iterator[tuple[str, np.ndarray | None, str]]:
        """(name, (H, W) uint8 grayscale image, "") per name in order, or (name, None, one-line
        error) for a file that cannot be read."""


class ArtifactStore(Protocol):
    def write_evaluation(self, result: "EvaluationResultLike") -> list[str]:
        """Persist scores and sample pictures; return what was written."""

    def write_prediction(
        self, output: str, name: str, image: np.ndarray, probabilities: np.ndarray, decision: np.ndarray,
        save_probabilities: bool = False,
    ) -> list[str]:
        """Persist one image's mask and overlay (and probabilities); return what was written."""

    def write_submission(self, path: str, rows: Sequence[tuple[str, int, str]]) -> str:
        """Write `ImageId,ClassId,EncodedPixels` rows as a CSV file; return its path."""


class EvaluationResultLike(Protocol):
    step: int
    num_images: int


class RunHistory(Protocol):
    def scalars(self, part: str) -> dict[str, list[tuple[int, float]]]:
        """Scalar series by tag of one part of a run ("train" or "eval"), each in step order."""


class ChartRenderer(Protocol):
    def draw(self, path: str, title: str, panels: Sequence["ChartPanel"]) -> str:
        """Draw the panels into one picture at `path`; return the path written."""


@attrs.frozen
class ChartPanel:
    title: str
    x_label: str
    lines: tuple[tuple[str, tuple[tuple[float, float], ...]], ...]  # (label, ((x, y), ...))


class RecordWriter(Protocol):
    def write_split(self, samples: Sequence[Any], directory: str, split: str, images_per_file: int,
                    progress: Callable[[int, int], None] | None = None) -> list[str]:
        """Write the samples of one split ("train" or "eval") as shards; return their paths."""

    def write_manifest(self, directory: str, counts: dict[str, int], spec: Any, source: dict) -> str:
        """Write what the shards hold and where they came from; return its path."""
