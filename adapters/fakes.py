"""In-memory fakes of every port, free of TensorFlow: for this project's tests and for users'.

The fake model "predicts" a defect wherever the input pixel is above `bright` (a stand-in for
a trained network), so evaluation and prediction through the use cases give real, checkable
scores without any training.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import attrs
import numpy as np

from application.ports import BenchmarkRun, CheckpointRef, EvaluationCounts, SamplePicture, TrainOutcome
from domain.errors import CheckpointError
from domain.masks import DecisionRule, binarize_truth
from domain.metrics import ConfusionMatrix, defect_dice
from domain.topology import UNetSpec
from domain.training import RunSpec, is_due, next_boundary


@attrs.define
class FakeModel:
    spec: UNetSpec
    bright: float = 0.5
    trained_steps: int = 0

    def logits(self, images: np.ndarray) -> np.ndarray:
        return np.asarray(images, np.float32) - np.float32(self.bright)


class FakeModelBuilder:
    def __init__(self) -> None:
        self.built: list[FakeModel] = []

    def build(self, spec: UNetSpec) -> FakeModel:
        model = FakeModel(spec)
        self.built.append(model)
        return model


class FakeDatasetReader:
    """Batches given as lists of (images, masks) arrays in NHWC."""

    def __init__(self, train_batches: Sequence[tuple[np.ndarray, np.ndarray]],
                 eval_batches: Sequence[tuple[np.ndarray, np.ndarray]] | None = None) -> None:
        self._train = list(train_batches)
        self._eval = list(eval_batches if eval_batches is not None else train_batches)

    def training_stream(self) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        return itertools.cycle(self._train)

    def evaluation_stream(self) -> list[tuple[np.ndarray, np.ndarray]]:
        return list(self._eval)

    def training_size(self) -> int:
        return sum(len(images) for images, _ in self._train)

    def evaluation_size(self) -> int:
        return sum(len(images) for images, _ in self._eval)


class RecordingObserver:
    def __init__(self) -> None:
        self.events: list[tuple] = []

    def started(self, start_step: int, target_step: int) -> None:
        self.events.append(("started", start_step, target_step))

    def progressed(self, step: int, loss: float, images_per_second: float, log_line: bool) -> None:
        self.events.append(("progressed", step, log_line))

    def checkpointed(self, step: int, path: str) -> None:
        self.events.append(("checkpointed", step))

    def finished(self, outcome: TrainOutcome) -> None:
        self.events.append(("finished", outcome.final_step))

    def message(self, text: str) -> None:
        self.events.append(("message", text))

    def of_kind(self, kind: str) -> list[tuple]:
        return [event for event in self.events if event[0] == kind]


class FakeExecutor:
    """Keeps checkpoints in memory with the run's cadence and retention rules."""

    def __init__(self, run: RunSpec) -> None:
        self._run = run
        self.saved: dict[int, int] = {}  # step -> trained_steps of the model at that step
        self.batches_seen = 0
        self.step_seconds = 0.5  # what benchmark() reports for every measured step
        self.exports: dict[str, dict] = {}
        self.tile_batches: list[tuple[int, ...]] = []  # shapes predict_tiles was called with
        self.compiled: list[tuple[str, Any]] = []  # validate / compile calls
        self._restored_step = 0

    def latest_step(self) -> int:
        return max(self.saved, default=0)

    def checkpoints(self) -> list[CheckpointRef]:
        return [CheckpointRef(step, f"memory://ckpt-{step}") for step in sorted(self.saved)]

    def train(self, model: FakeModel, stream: Any, target_step: int, observer,
              after_checkpoint: Callable[[int], None] | None = None) -> TrainOutcome:
        start = self.latest_step()
        model.trained_steps = self.saved.get(start, 0)
        iterator = iter(stream)
        observer.started(start, target_step)
        run = self._run
        periods = (run.save_checkpoints_steps, run.save_summary_steps, run.log_step_count_steps)
        current = start
        while current < target_step:
            boundary = next_boundary(current, target_step, periods)
            for _ in range(boundary - current):
                next(iterator)
                self.batches_seen += 1
            model.trained_steps += boundary - current
            current = boundary
            observer.progressed(current, 0.1, 100.0, is_due(current, run.log_step_count_steps))
            if is_due(current, run.save_checkpoints_steps) or current == target_step:
                self.saved[current] = model.trained_steps
                for old in sorted(self.saved)[: -run.keep_checkpoint_max]:
                    del self.saved[old]
                observer.checkpointed(current, f"memory://ckpt-{current}")
                if after_checkpoint is not None:
                    after_checkpoint(current)
        outcome = TrainOutcome(start_step=start, final_step=current, last_loss=0.1, images_per_second=100.0)
        observer.finished(outcome)
        return outcome

    def restore(self, model: FakeModel, checkpoint: str | None = None) -> int:
        if not self.saved:
            raise CheckpointError("memory://: no checkpoint found; train first")
        step = self.latest_step() if checkpoint is None else int(checkpoint.rsplit("-", 1)[1])
        if step not in self.saved:
            raise CheckpointError(f"{checkpoint}: checkpoint not found")
        model.trained_steps = self.saved[step]
        self._restored_step = step
        return step

    def evaluate(self, model: FakeModel, stream: Any, rule: DecisionRule, ignore_labels: Sequence[int] = (),
                 max_batches: int | None = None, keeper: Any = None,
                 extra_rules: Sequence[DecisionRule] = ()) -> EvaluationCounts:
        per_image: list[ConfusionMatrix] = []
        extra: list[list[ConfusionMatrix]] = [[] for _ in extra_rules]
        for index, (images, masks) in enumerate(stream):
            if max_batches is not None and index >= max_batches:
                break
            logits = model.logits(images)
            decisions = rule.on_logits(logits)
            for position, (image, mask, decision) in enumerate(zip(images, masks, decisions)):
                truth = binarize_truth(mask)
                weights = ~np.isin(truth.astype(int), list(ignore_labels))
                per_image.append(ConfusionMatrix.from_masks(truth, decision, weights))
                for counts, other in zip(extra, extra_rules):
                    counts.append(ConfusionMatrix.from_masks(truth, other.on_logits(logits[position]), weights))
                if keeper is not None:
                    gray = np.clip(image[..., 0] * 255, 0, 255).astype(np.uint8)
                    number = len(per_image) - 1
                    keeper.offer(number, defect_dice(per_image[-1]),
                                 lambda n=number, g=gray, t=truth, d=decision: SamplePicture(n, g, t[..., 0], d[..., 0]))
        total = sum(per_image, ConfusionMatrix())
        return EvaluationCounts(self._restored_step, total, tuple(per_image),
                                extra=tuple(tuple(counts) for counts in extra))

    def predict(self, model: FakeModel, images: Sequence[np.ndarray], size: tuple[int, int]) -> list[np.ndarray]:
        return [1.0 / (1.0 + np.exp(-model.logits(image)[..., 0])) for image in images]

    def predict_tiles(self, model: FakeModel, tiles: np.ndarray) -> np.ndarray:
        self.tile_batches.append(tiles.shape)
        return np.stack(self.predict(model, list(tiles), tiles.shape[1:3]))

    def export(self, model: FakeModel, output: str, size: tuple[int, int], normalization: tuple[float, float],
               threshold: float, step: int, native_stride: int | None = None) -> str:
        self.exports[output] = {"size": size, "normalization": normalization, "threshold": threshold, "step": step,
                                "native_stride": native_stride}
        return output

    def benchmark(self, model: FakeModel, stream: Any, kind: str, steps: int, warmup_steps: int) -> BenchmarkRun:
        """Consumes the batches a real run would and reports `step_seconds` per measured step."""
        iterator = itertools.cycle(stream) if isinstance(stream, list) else iter(stream)
        for _ in range(warmup_steps + steps):
            next(iterator)
            self.batches_seen += 1
        return BenchmarkRun(step_seconds=(self.step_seconds,) * steps, peak_memory_bytes=100 * 2**20,
                            device="fake", precision="float32", data_format="channels_last")

    def scope(self) -> Any:
        import contextlib

        return contextlib.nullcontext()

    def validate(self, model: FakeModel, element_spec: Any) -> list[str]:
        self.compiled.append(("validate", element_spec))
        return []

    def compile(self, model: FakeModel, element_spec: Any, output: str) -> dict[str, Any]:
        self.compiled.append(("compile", output))
        return {"compile_seconds": 0.0, "hlo_instructions": 0, "hlo": f"{output}/hlo", "report": f"{output}/r"}


class FakeImageSource:
    def __init__(self, images: dict[str, np.ndarray | None]) -> None:
        self._images = images  # None stands for an unreadable file

    def list(self, inputs: Sequence[str]) -> list[str]:
        return [name for name in self._images if any(name.startswith(item) for item in inputs)]

    def stream(self, names: Sequence[str]) -> Iterator[tuple[str, np.ndarray | None, str]]:
        for name in names:
            image = self._images.get(name)
            yield name, image, "" if image is not None else f"{name}: cannot read image (fake unreadable file)"


class InMemoryArtifactStore:
    def __init__(self) -> None:
        self.evaluations: list[Any] = []
        self.predictions: dict[str, np.ndarray] = {}
        self.submissions: dict[str, list[tuple[str, int, str]]] = {}

    def write_evaluation(self, result: Any) -> list[str]:
        self.evaluations.append(result)
        return [f"memory://eval/results-{result.step}.json"]

    def write_prediction(self, output: str, name: str, image: np.ndarray, probabilities: np.ndarray,
                         decision: np.ndarray, save_probabilities: bool = False) -> list[str]:
        self.predictions[name] = decision
        written = [f"{output}/{name}_mask.png", f"{output}/{name}_overlay.png"]
        return written + ([f"{output}/{name}_probability.png"] if save_probabilities else [])

    def write_submission(self, path: str, rows: Sequence[tuple[str, int, str]]) -> str:
        self.submissions[path] = list(rows)
        return path
