"""Fakes of the model, data and training-role ports (checkpoints, trainer, evaluator, best
keeper), free of TensorFlow; the deployment roles' fakes are in adapters.fakes.deployment.

The fake model "predicts" a defect wherever the input pixel is above `bright` (a stand-in for
a trained network), so evaluation and prediction through the use cases give real, checkable
scores without any training. The fake trainer follows the run's cadence (domain.training),
as every trainer does, and keeps its checkpoints in a FakeCheckpoints.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence
from typing import Any

import attrs
import numpy as np

from unet_defects.application.ports import TrainingJob
from unet_defects.application.values import (
    BestCheckpoint,
    CheckpointRef,
    EvaluatedMap,
    ImageEvaluation,
    LabelledImage,
    SamplePicture,
    TrainOutcome,
)
from unet_defects.domain.curves import pixel_histogram
from unet_defects.domain.errors import CheckpointError
from unet_defects.domain.masks import DecisionRule, binarize_truth
from unet_defects.domain.metrics import ConfusionMatrix
from unet_defects.domain.topology import UNetSpec
from unet_defects.domain.training import RunSpec, newest


@attrs.define
class FakeModel:
    """Logits are the pixel minus a cut-off: `bright`, or the cut-off its trained steps reached
    (`cutoffs`: steps -> cut-off), for a model that gets better or worse as it trains."""

    spec: UNetSpec
    bright: float = 0.5
    trained_steps: int = 0
    cutoffs: dict[int, float] = attrs.field(factory=dict)

    def logits(self, images: np.ndarray) -> np.ndarray:
        """One channel per defect class, each the same (the masks make the classes differ)."""
        cutoff = self.cutoffs.get(self.trained_steps, self.bright)
        logits = np.asarray(images, np.float32)[..., :1] - np.float32(cutoff)  # the first input channel
        return logits if self.spec.defect_channels == 1 else np.repeat(logits, self.spec.defect_channels, -1)


class FakeModelBuilder:
    def __init__(self, cutoffs: dict[int, float] | None = None) -> None:
        self.built: list[FakeModel] = []
        self._cutoffs = dict(cutoffs or {})

    def build(self, spec: UNetSpec) -> FakeModel:
        model = FakeModel(spec, cutoffs=self._cutoffs)
        self.built.append(model)
        return model


class FakeDatasetReader:
    """Batches given as lists of (images, masks) arrays in NHWC."""

    def __init__(self, train_batches: Sequence[tuple[np.ndarray, np.ndarray]],
                 eval_batches: Sequence[tuple[np.ndarray, np.ndarray]] | None = None,
                 test_batches: Sequence[tuple[np.ndarray, np.ndarray]] | None = None) -> None:
        self._train = list(train_batches)
        self._eval = list(eval_batches if eval_batches is not None else train_batches)
        self._test = None if test_batches is None else list(test_batches)

    def training_stream(self) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        return itertools.cycle(self._train)

    def training_size(self) -> int:
        return sum(len(images) for images, _ in self._train)

    def evaluation_names(self, split: str = "eval") -> list[str]:
        return []

    def evaluation_stream(self, split: str = "eval") -> list[tuple[np.ndarray, np.ndarray]]:
        if split == "test" and self._test is not None:
            return list(self._test)
        return list(self._eval)


class RecordingObserver:
    def __init__(self) -> None:
        self.events: list[tuple] = []

    def started(self, start_step: int, target_step: int, time_budget: float | None = None) -> None:
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


class FakeCheckpoints:
    """Checkpoints in memory: step -> how many steps the model had trained at that step."""

    def __init__(self) -> None:
        self.saved: dict[int, int] = {}

    def list(self) -> list[CheckpointRef]:
        return [CheckpointRef(step, f"memory://ckpt-{step}") for step in sorted(self.saved)]

    def restore(self, model: FakeModel, checkpoint: str | None = None) -> CheckpointRef:
        if not self.saved:
            raise CheckpointError("memory://: no checkpoint found; train first")
        step = max(self.saved) if checkpoint is None else int(checkpoint.rsplit("-", 1)[1])
        if step not in self.saved:
            raise CheckpointError(f"{checkpoint}: checkpoint not found")
        model.trained_steps = self.saved[step]
        return CheckpointRef(step, f"memory://ckpt-{step}")


class FakeTrainer:
    """Trains nothing: consumes a batch per step, on the run's cadence, and keeps checkpoints.
    Each step takes `seconds_per_step` of make-believe time, which a time budget counts."""

    def __init__(self, run: RunSpec, checkpoints: FakeCheckpoints, seconds_per_step: float = 0.0) -> None:
        self._run = run
        self._checkpoints = checkpoints
        self._seconds_per_step = seconds_per_step
        self.batches_seen = 0

    def train(self, job: TrainingJob) -> TrainOutcome:
        model = job.build_model()
        batches = iter(job.open_stream())
        saved = self._checkpoints.saved
        start = max(saved, default=0)
        model.trained_steps = saved.get(start, 0)
        cadence, target = self._run.cadence, job.target_step
        job.observer.started(start, target, job.time_budget)
        current, elapsed, stopped_by = start, 0.0, "max_steps"
        while current < target:
            stop = cadence.next_stop(current, target, per_call=1 if job.time_budget else None)
            for _ in range(stop - current):
                next(batches)
                self.batches_seen += 1
            model.trained_steps += stop - current
            elapsed += (stop - current) * self._seconds_per_step
            current = stop
            job.observer.progressed(current, 0.1, 100.0, cadence.log_due(current))
            out_of_time = job.time_budget is not None and elapsed >= job.time_budget and current < target
            if cadence.checkpoint_due(current, target) or out_of_time:
                saved[current] = model.trained_steps
                for old in set(saved) - set(newest(list(saved), self._run.keep_checkpoint_max)):
                    del saved[old]
                job.observer.checkpointed(current, f"memory://ckpt-{current}")
                if job.after_checkpoint is not None:
                    job.after_checkpoint(CheckpointRef(current, f"memory://ckpt-{current}"))
            if out_of_time:
                stopped_by = "time_budget"
                break
        outcome = TrainOutcome(start_step=start, final_step=current, last_loss=0.1, images_per_second=100.0,
                               seconds=elapsed, stopped_by=stopped_by)
        job.observer.finished(outcome)
        return outcome


class FakeEvaluator:
    """Counts on the host with the fake model's logits, as the real evaluator does in the graph."""

    def evaluate(self, model: FakeModel, stream: Any, rules: Sequence[DecisionRule],
                 ignore_labels: Sequence[int] = (), max_batches: int | None = None) -> Iterator[ImageEvaluation]:
        index = 0
        for batch_index, (images, masks) in enumerate(stream):
            if max_batches is not None and batch_index >= max_batches:
                break
            for image, mask in zip(images, masks):
                logits = model.logits(image)
                truth = binarize_truth(mask)
                weights = ~np.isin(truth.astype(int), list(ignore_labels)) & (np.asarray(mask) >= 0)
                decisions = [rule.on_logits(logits) for rule in rules]
                gray = np.clip(image[..., 0] * 255, 0, 255).astype(np.uint8)
                classes = range(truth.shape[-1])
                rows = [[attrs.astuple(ConfusionMatrix.from_masks(truth[..., c], d[..., c], weights[..., c]))
                         for c in classes] for d in decisions]
                peaks = [float(1.0 / (1.0 + np.exp(-logits[..., c][weights[..., c]].max())))
                         if weights[..., c].any() else 0.0 for c in classes]
                probabilities = 1.0 / (1.0 + np.exp(-logits))
                histograms = np.stack([pixel_histogram(probabilities[..., c], truth[..., c], weights[..., c])
                                       for c in classes])
                yield ImageEvaluation.from_class_counts(
                    rows, peaks, lambda n=index, g=gray, t=truth, d=decisions[0]: SamplePicture(
                        n, g, t.any(axis=-1), d.any(axis=-1)), histograms)
                index += 1


    def maps(self, engine: Any, stream: Any, max_batches: int | None = None,
             ignore_labels: Sequence[int] = ()) -> Iterator[EvaluatedMap]:
        for batch_index, (images, masks) in enumerate(stream):
            if max_batches is not None and batch_index >= max_batches:
                break
            maps, classified = engine.outputs(np.asarray(images))
            for position, (image, mask, probabilities) in enumerate(zip(images, masks, maps)):
                mask = np.asarray(mask)  # (H, W, K)
                truth = binarize_truth(mask)
                counted = ~np.isin(truth.astype(int), list(ignore_labels)) & (mask >= 0)
                yield EvaluatedMap(image=np.clip(image[..., 0] * 255, 0, 255).astype(np.uint8),
                                   probabilities=probabilities, truth=truth, counted=counted,
                                   image_probabilities=None if classified is None else classified[position])

    def images(self, stream: Any, max_batches: int | None = None,
               ignore_labels: Sequence[int] = ()) -> Iterator[LabelledImage]:
        for batch_index, (images, masks) in enumerate(stream):
            if max_batches is not None and batch_index >= max_batches:
                break
            for image, mask in zip(images, masks):
                mask = np.asarray(mask)
                truth = binarize_truth(mask)
                yield LabelledImage(image=np.clip(np.asarray(image)[..., 0] * 255, 0, 255).astype(np.uint8),
                                    truth=truth, counted=~np.isin(truth.astype(int), list(ignore_labels)) & (mask >= 0))


class FakeBestKeeper:
    def __init__(self) -> None:
        self.kept: BestCheckpoint | None = None

    def best(self) -> BestCheckpoint | None:
        return self.kept

    def keep(self, checkpoint: CheckpointRef, score: str, value: float) -> BestCheckpoint:
        self.kept = BestCheckpoint(checkpoint, score, value)
        return self.kept
