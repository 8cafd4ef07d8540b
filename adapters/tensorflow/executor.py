"""TensorFlowExecutor: the train / evaluate / predict loops on the local device.

Training runs several steps per compiled call (a tf.range loop inside one tf.function), up
to the next log, summary or checkpoint step, so there is one host sync per call, not per step.
"""

from __future__ import annotations

import contextlib
import logging
import math
import re
import shutil
import signal
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from adapters.artifacts import sample_panels
from adapters.locking import ModelDirLock
from adapters.tensorflow.device import DevicePlan
from adapters.tensorflow.distribution import is_chief, worker_label
from adapters.tensorflow.optimizers import make_optimizer
from adapters.tensorflow.train_step import TrainStep
from application.ports import (
    BenchmarkRun,
    CheckpointRef,
    EvaluationCounts,
    SamplePicture,
    TrainingObserver,
    TrainOutcome,
)
from domain.data import denormalize
from domain.errors import CheckpointError, UnetError
from domain.losses import LossSpec
from domain.masks import TRUTH_THRESHOLD, DecisionRule
from domain.metrics import ConfusionMatrix, defect_dice
from domain.training import OptimizerSpec, RunSpec, is_due, next_boundary

log = logging.getLogger("unet")

CHECKPOINT_NAME = "model.ckpt"
# Aim for a compiled call of about this many seconds, so progress shows while steps stay batched.
SECONDS_PER_CALL = 2.0


class TrainingDiverged(UnetError):
    """The loss became NaN or infinite."""

    exit_status = 1


class TrainingInterrupted(UnetError):
    """SIGINT or SIGTERM arrived; a checkpoint of the current step was written first."""

    def __init__(self, message: str, signum: int) -> None:
        super().__init__(message)
        self.exit_status = 128 + signum


class StopSignals:
    """Turns SIGINT and SIGTERM into a flag the training loop checks between compiled calls,
    so that it can write a checkpoint before it exits."""

    def __init__(self) -> None:
        self.signum: int | None = None
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> "StopSignals":
        if threading.current_thread() is threading.main_thread():
            for signum in (signal.SIGINT, signal.SIGTERM):
                self._previous[signum] = signal.signal(signum, self._record)
        return self

    def _record(self, signum: int, frame: Any) -> None:
        self.signum = signum

    def __exit__(self, *exc_info) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)


def check_writable(model_dir: Path, needed_bytes: int) -> None:
    """Fail before training when model_dir cannot take a checkpoint."""
    import shutil

    try:
        model_dir.mkdir(parents=True, exist_ok=True)
        probe = model_dir / ".write-test"
        probe.write_bytes(b"ok")
        probe.unlink()
    except OSError as error:
        raise UnetError(f"{model_dir}: model_dir is not writable ({error.strerror or error})") from None
    free = shutil.disk_usage(model_dir).free
    if free < needed_bytes:
        raise UnetError(
            f"{model_dir}: {free / 2**20:.0f} MB free, a checkpoint needs about {needed_bytes / 2**20:.0f} MB"
        )


def _step_of(path: str) -> int:
    match = re.search(r"-(\d+)$", path)
    return int(match.group(1)) if match else 0


class TensorFlowExecutor:
    def __init__(
        self,
        run: RunSpec,
        optimizer: OptimizerSpec,
        plan: DevicePlan,
        normalization: tuple[float, float] = (1.0, 0.0),
        batch_size: int = 1,
        image_summaries: bool = False,
        loss: LossSpec | None = None,
        strategy: Any = None,
    ) -> None:
        self._run = run
        self._strategy = strategy
        self._loss_spec = loss or LossSpec()
        self._image_summaries = image_summaries
        self._optimizer_spec = optimizer
        self._plan = plan
        self._policy = plan.policy
        self._normalization = normalization
        self._batch_size = batch_size
        self._model_dir = Path(run.model_dir)
        self._restored_step = 0
        self._compiled: dict[tuple, Any] = {}  # compiled eval / inference functions per model

    @staticmethod
    def name() -> str:
        return "tensorflow"

    @staticmethod
    def is_available() -> bool:
        """TensorFlow runs on this machine's CPU, or its GPUs when it sees them."""
        return True

    def _device(self):
        import tensorflow as tf

        return tf.device(self._run.device) if self._run.device else contextlib.nullcontext()

    # -- checkpoints -------------------------------------------------------------------------

    def checkpoints(self) -> list[CheckpointRef]:
        import tensorflow as tf

        state = tf.train.get_checkpoint_state(str(self._model_dir)) if self._model_dir.is_dir() else None
        paths = list(state.all_model_checkpoint_paths) if state else []
        refs = [CheckpointRef(_step_of(p), p) for p in paths if tf.io.gfile.exists(p + ".index")]
        return sorted(refs, key=lambda ref: ref.step)

    def latest_step(self) -> int:
        refs = self.checkpoints()
        return refs[-1].step if refs else 0

    def _restore_into(self, checkpoint: Any, path: str) -> None:
        try:
            status = checkpoint.restore(path)
            status.assert_existing_objects_matched()
        except (ValueError, AssertionError) as error:
            first = str(error).splitlines()[0][:200]
            raise CheckpointError(
                f"{path}: checkpoint does not match the configured model ({first})"
            ) from None
        except Exception as error:  # NotFoundError, DataLossError
            raise CheckpointError(f"{path}: cannot read checkpoint ({type(error).__name__})") from None
        return status

    def restore(self, model: Any, checkpoint: str | None = None) -> int:
        import tensorflow as tf

        if checkpoint is None:
            refs = self.checkpoints()
            if not refs:
                raise CheckpointError(f"{self._model_dir}: no checkpoint found; train first")
            checkpoint = refs[-1].path
        elif Path(checkpoint).is_dir():
            latest = tf.train.latest_checkpoint(checkpoint)
            if latest is None:
                raise CheckpointError(f"{checkpoint}: no checkpoint found in this directory")
            checkpoint = latest
        if not tf.io.gfile.exists(checkpoint + ".index"):
            raise CheckpointError(f"{checkpoint}: checkpoint not found")
        self._restore_into(tf.train.Checkpoint(model=model), checkpoint).expect_partial()
        self._restored_step = _step_of(checkpoint)
        return self._restored_step

    def _cached(self, key: tuple, make: Callable[[], Any]) -> Any:
        if key not in self._compiled:
            self._compiled[key] = make()
        return self._compiled[key]

    # -- training ----------------------------------------------------------------------------

    def train(
        self,
        model: Any,
        stream: Any,
        target_step: int,
        observer: TrainingObserver,
        after_checkpoint: Callable[[int], None] | None = None,
    ) -> TrainOutcome:
        import tensorflow as tf

        if self._run.tf_random_seed is not None:
            # Same seed, same data, same weights: multi-threaded kernels may otherwise sum in any
            # order. (Process-wide; XLA compilation refuses some ops under it, so only here.)
            tf.config.experimental.enable_op_determinism()
        chief = is_chief(self._strategy)
        # Non-chief workers save too (tf.distribute needs every worker in a save), into scratch.
        save_dir = self._model_dir if chief else self._model_dir / f".{worker_label(self._strategy)}-scratch"
        if chief:
            # Weights plus two optimizer slots each, in float32, twice over (old and new checkpoint).
            check_writable(self._model_dir, needed_bytes=2 * 3 * 4 * int(model.count_params()))
        lock = ModelDirLock(self._model_dir) if chief else contextlib.nullcontext()
        with self._device(), lock, StopSignals() as stop, self.scope():
            step = tf.Variable(0, dtype=tf.int64, trainable=False, name="global_step")
            optimizer = make_optimizer(self._optimizer_spec, self._policy, step)
            optimizer.build(model.trainable_variables)
            trainer = TrainStep(model, optimizer, self._optimizer_spec, self._loss_spec, self._policy, step,
                                previews=self._image_summaries)
            checkpoint = tf.train.Checkpoint(model=model, optimizer=optimizer, step=step, **trainer.checkpointed())
            manager = tf.train.CheckpointManager(
                checkpoint, str(save_dir), max_to_keep=self._run.keep_checkpoint_max,
                checkpoint_name=CHECKPOINT_NAME,
            )
            latest = tf.train.latest_checkpoint(str(self._model_dir))
            if latest:  # restores the step variable with the weights
                self._restore_into(checkpoint, latest)
            start = int(step.numpy())
            if self._strategy is not None:
                run_steps = trainer.compile(iter(self._distributed(stream)), self._strategy)
            else:
                run_steps = trainer.compile(iter(stream))
            writer = tf.summary.create_file_writer(str(self._model_dir)) if chief else tf.summary.create_noop_writer()
            try:
                return self._loop(run_steps, trainer, manager, writer, start, target_step, observer,
                                  after_checkpoint if chief else None, stop)
            finally:
                if not chief:
                    shutil.rmtree(save_dir, ignore_errors=True)

    def scope(self):
        """Where models and optimizers must be created for the distribution strategy."""
        return self._strategy.scope() if self._strategy is not None else contextlib.nullcontext()

    def _distributed(self, stream: Any) -> Any:
        """The stream split across replicas; each worker reads every n-th element unless the
        reader already took its share of the files (auto-shard OFF)."""
        import tensorflow as tf

        policy = tf.data.experimental.AutoShardPolicy
        if stream.options().experimental_distribute.auto_shard_policy == policy.AUTO:
            options = tf.data.Options()
            options.experimental_distribute.auto_shard_policy = policy.DATA
            stream = stream.with_options(options)
        return self._strategy.experimental_distribute_dataset(stream)

    def _write_previews(self, images, masks, probabilities) -> None:
        """Input, true and predicted masks (at probability 0.5) and both overlays of a few
        training images, into the default summary writer."""
        import tensorflow as tf

        for index, (image, mask, probability) in enumerate(zip(images.numpy(), masks.numpy(), probabilities.numpy())):
            sample = SamplePicture(index=index, image=denormalize(image[..., 0], self._normalization),
                                   truth=mask[..., 0] >= TRUTH_THRESHOLD, prediction=probability[..., 0] > 0.5)
            for kind, picture in sample_panels(sample).items():
                tf.summary.image(f"train_samples/{index}/{kind}", picture[None])

    def _save(self, manager, step: int) -> str:
        import tensorflow as tf

        try:
            return manager.save(checkpoint_number=step)
        except (tf.errors.OpError, OSError) as error:
            reason = getattr(error, "message", None) or str(error)
            raise UnetError(
                f"{self._model_dir}: cannot write the checkpoint of step {step} ({reason.splitlines()[0][:160]}); "
                f"the last complete checkpoint is step {self.latest_step()}"
            ) from None

    def _loop(self, run_steps, trainer, manager, writer, start, target, observer, after_checkpoint, stop):
        import tensorflow as tf

        run = self._run
        periods = (run.save_checkpoints_steps, run.save_summary_steps, run.log_step_count_steps)
        observer.started(start, target)
        began = time.perf_counter()
        current, per_call, loss = start, 1, float("nan")
        images_per_second = 0.0
        while current < target:
            boundary = min(next_boundary(current, target, periods), current + per_call)
            count = boundary - current
            tick = time.perf_counter()
            mean_loss, first_bad = run_steps(tf.constant(count, tf.int64))
            loss, bad = float(mean_loss), int(first_bad)
            elapsed = time.perf_counter() - tick
            if bad >= 0 or not math.isfinite(loss):
                kept = self.latest_step()
                raise TrainingDiverged(
                    f"step {bad if bad >= 0 else boundary}: the loss is not finite ({loss}); training stopped, "
                    f"the last good checkpoint is step {kept}"
                )
            current = boundary
            images_per_second = count * self._batch_size / elapsed if elapsed > 0 else 0.0
            # First call includes tracing; later calls size themselves to about SECONDS_PER_CALL.
            if self._run.steps_per_call:
                per_call = self._run.steps_per_call
            elif current - start > count or per_call > 1:
                per_call = max(1, min(10_000, int(SECONDS_PER_CALL * count / max(elapsed, 1e-6))))
            else:
                per_call = 2
            if is_due(current, run.save_summary_steps):
                with writer.as_default(step=current):
                    tf.summary.scalar("loss", loss)
                    tf.summary.scalar("images_per_second", images_per_second)
                    if self._policy == "mixed_float16":
                        tf.summary.scalar("loss_scale", trainer.loss_scale)
                    if self._image_summaries:
                        self._write_previews(*trainer.preview())
                writer.flush()
            observer.progressed(current, loss, images_per_second, is_due(current, run.log_step_count_steps))
            if stop.signum is not None:
                path = self._save(manager, current)
                observer.checkpointed(current, path)
                name = signal.Signals(stop.signum).name
                raise TrainingInterrupted(f"{name} received: stopped at step {current}, checkpoint saved: {path}",
                                          stop.signum)
            if is_due(current, run.save_checkpoints_steps) or current == target:
                path = self._save(manager, current)
                observer.checkpointed(current, path)
                if after_checkpoint is not None:
                    after_checkpoint(current)
        outcome = TrainOutcome(
            start_step=start, final_step=current, last_loss=loss,
            images_per_second=images_per_second, seconds=time.perf_counter() - began,
        )
        observer.finished(outcome)
        return outcome

    # -- evaluation --------------------------------------------------------------------------

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
        rules = (rule, *extra_rules)
        count = self._cached(
            ("eval", id(model), rules, tuple(ignore_labels)), lambda: self._counter(model, rules, ignore_labels)
        )
        per_image: list[ConfusionMatrix] = []
        extra: list[list[ConfusionMatrix]] = [[] for _ in extra_rules]
        with self._device():
            for batch_index, (images, masks) in enumerate(stream):
                if max_batches is not None and batch_index >= max_batches:
                    break
                counts, predicted = count(images, masks)
                for rows in counts.numpy():  # (rules, 4) per image
                    per_image.append(ConfusionMatrix.from_counts(rows[0]))
                    for index, row in enumerate(rows[1:]):
                        extra[index].append(ConfusionMatrix.from_counts(row))
                if keeper is not None:
                    self._offer(keeper, images, masks, predicted, per_image)
        total = sum(per_image, ConfusionMatrix())
        return EvaluationCounts(step=self._restored_step, total=total, per_image=tuple(per_image),
                                extra=tuple(tuple(counts) for counts in extra))

    @staticmethod
    def _counter(model: Any, rules: Sequence[DecisionRule], ignore_labels: Sequence[int]):
        """A compiled function: per-image (tn, fp, fn, tp) counts under each rule, shape
        (batch, rules, 4), and the first rule's decision mask."""
        import tensorflow as tf

        cutoff = tf.constant([rule.logit_cutoff for rule in rules], tf.float32)
        ignored = tf.constant(list(ignore_labels) or [-1], tf.int32)

        @tf.function(reduce_retracing=True)
        def count(images, masks):
            logits = tf.cast(model(images, training=False), tf.float32)
            predicted = logits > cutoff
            truth = masks >= TRUTH_THRESHOLD
            labels = tf.cast(truth, tf.int32)
            keep = tf.logical_not(tf.reduce_any(labels[..., None] == ignored, axis=-1))

            def pixels(condition):  # (batch, H, W, rules) -> (batch, rules)
                return tf.reduce_sum(tf.cast(condition & keep, tf.int64), axis=[1, 2])

            counts = tf.stack(
                [pixels(~truth & ~predicted), pixels(~truth & predicted),
                 pixels(truth & ~predicted), pixels(truth & predicted)], axis=2,
            )
            return counts, predicted[..., :1]

        return count

    def _offer(self, keeper, images, masks, predicted, per_image: list[ConfusionMatrix]) -> None:
        """Offer this batch's images to the sample keeper; pictures are built only if kept."""
        first = len(per_image) - len(images)

        def picture(i: int) -> SamplePicture:
            return SamplePicture(
                index=first + i,
                image=denormalize(images[i, ..., 0].numpy(), self._normalization),
                truth=masks[i, ..., 0].numpy() >= TRUTH_THRESHOLD,
                prediction=predicted[i, ..., 0].numpy(),
            )

        for i in range(len(images)):
            keeper.offer(first + i, defect_dice(per_image[first + i]), lambda i=i: picture(i))

    # -- prediction --------------------------------------------------------------------------

    @staticmethod
    def _probabilities(model: Any) -> Any:
        import tensorflow as tf

        @tf.function(reduce_retracing=True)
        def probabilities(batch):
            return tf.sigmoid(tf.cast(model(batch, training=False), tf.float32))

        return probabilities

    def predict(self, model: Any, images: Sequence[np.ndarray], size: tuple[int, int]) -> list[np.ndarray]:
        import tensorflow as tf

        probabilities = self._cached(("predict", id(model)), lambda: self._probabilities(model))
        with self._device():
            resized = tf.stack([tf.image.resize(np.asarray(image, np.float32), size) for image in images])
            outputs = probabilities(resized)
            return [
                tf.image.resize(output, image.shape[:2]).numpy()[..., 0]
                for output, image in zip(tf.unstack(outputs), images)
            ]

    def predict_tiles(self, model: Any, tiles: np.ndarray) -> np.ndarray:
        import tensorflow as tf

        probabilities = self._cached(("predict", id(model)), lambda: self._probabilities(model))
        with self._device():
            return probabilities(tf.constant(tiles, tf.float32)).numpy()[..., 0]

    # -- export ------------------------------------------------------------------------------

    def export(self, model: Any, output: str, size: tuple[int, int], normalization: tuple[float, float],
               threshold: float, step: int, native_stride: int | None = None) -> str:
        """A TensorFlow SavedModel whose `serving_default` takes uint8 images (N, H, W, 1) of any
        size and returns `probabilities` (float32) and `mask` (uint8 0/255) at that size,
        with the same preprocessing as `unet predict`: normalize, resize to `size`, predict,
        resize back; or with `native_stride`, mirror-pad to a multiple of it, predict, crop."""
        import json

        import tensorflow as tf

        channels = int(model.input_shape[-1])
        scale, offset = normalization

        class Serving(tf.Module):
            def __init__(self, network):
                super().__init__()
                self.network = network

            @tf.function(input_signature=[tf.TensorSpec([None, None, None, 1], tf.uint8, name="images")])
            def serve(self, images):
                original = tf.shape(images)[1:3]
                inputs = tf.tile(tf.cast(images, tf.float32) * scale + offset, [1, 1, 1, channels])
                if native_stride:
                    extra = (native_stride - original % native_stride) % native_stride
                    inputs = tf.pad(inputs, [[0, 0], [0, extra[0]], [0, extra[1]], [0, 0]], mode="SYMMETRIC")
                else:
                    inputs = tf.image.resize(inputs, size)
                probabilities = tf.sigmoid(tf.cast(self.network(inputs, training=False), tf.float32))
                if native_stride:
                    probabilities = probabilities[:, : original[0], : original[1]]
                else:
                    probabilities = tf.image.resize(probabilities, original)
                mask = tf.cast(probabilities > threshold, tf.uint8) * 255
                return {"probabilities": probabilities, "mask": mask}

        module = Serving(model)
        target = Path(output)
        try:
            tf.saved_model.save(module, str(target), signatures={"serving_default": module.serve})
            (target / "unet_export.json").write_text(json.dumps({
                "step": step, "threshold": threshold, "input_size": list(size),
                "normalization": {"scale": scale, "offset": offset}, "precision": self._policy,
                "geometry": "native" if native_stride else "resize", "stride": native_stride,
            }, indent=2) + "\n")
        except (OSError, tf.errors.OpError) as error:
            raise UnetError(f"{target}: cannot write the export ({str(error).splitlines()[0][:160]})") from None
        return str(target)

    # -- validate and compile ---------------------------------------------------------------

    def _step_function(self, model: Any, element_spec: Any, jit: bool):
        import tensorflow as tf

        step = tf.Variable(0, dtype=tf.int64, trainable=False)
        optimizer = make_optimizer(self._optimizer_spec, self._policy, step)
        optimizer.build(model.trainable_variables)
        trainer = TrainStep(model, optimizer, self._optimizer_spec, self._loss_spec, self._policy, step)
        image_spec, mask_spec = element_spec
        batch = self._batch_size
        signature = [tf.TensorSpec([batch, *image_spec.shape[1:]], image_spec.dtype),
                     tf.TensorSpec([batch, *mask_spec.shape[1:]], mask_spec.dtype)]
        return tf.function(trainer.step_on, jit_compile=jit), signature

    def validate(self, model: Any, element_spec: Any) -> list[str]:
        """Trace one training step from the pipeline's element spec without running it; the
        problems found, one line each."""
        try:
            with self._device():
                function, signature = self._step_function(model, element_spec, jit=False)
                function.get_concrete_function(*signature)
        except Exception as error:  # any tracing failure is a finding, reported in one line
            return [f"tracing the training step failed: {str(error).strip().splitlines()[-1][:300]}"]
        return []

    def compile(self, model: Any, element_spec: Any, output: str) -> dict[str, Any]:
        """XLA-compile one training step for this device; write its optimized HLO and a report."""
        import json

        with self._device():
            function, signature = self._step_function(model, element_spec, jit=True)
            tick = time.perf_counter()
            try:
                hlo = function.experimental_get_compiler_ir(*signature)(stage="optimized_hlo")
            except Exception as error:  # XLA refusals come in many types
                raise UnetError(f"compiling the training step with XLA failed: "
                                f"{str(error).strip().splitlines()[-1][:300]}") from None
            seconds = time.perf_counter() - tick
        folder = Path(output)
        folder.mkdir(parents=True, exist_ok=True)
        hlo_path = folder / "train_step.optimized_hlo.txt"
        hlo_path.write_text(hlo)
        variables = sum(np.asarray(v.numpy()).nbytes for v in model.variables)
        report = {
            "compile_seconds": round(seconds, 3), "device": self._plan.device, "precision": self._policy,
            "parameters": int(model.count_params()), "batch_size": self._batch_size,
            "hlo_instructions": sum(1 for line in hlo.splitlines() if " = " in line),
            # Weights plus two Adam-like slots: a floor on the memory the step needs, not a measurement.
            "weights_and_optimizer_bytes_estimate": 3 * variables,
            "hlo": str(hlo_path),
        }
        report_path = folder / "compile_report.json"
        report_path.write_text(json.dumps(report, indent=2) + "\n")
        return {**report, "report": str(report_path)}

    # -- benchmarks --------------------------------------------------------------------------

    def benchmark(self, model: Any, stream: Any, kind: str, steps: int, warmup_steps: int) -> BenchmarkRun:
        """Time `steps` steps after `warmup_steps` (the first call also compiles).

        Steps run in compiled calls of several steps, as training does; each step of a call is
        credited with the call's mean step time.
        """
        import tensorflow as tf

        with self._device():
            if kind == "train":
                step = tf.Variable(0, dtype=tf.int64, trainable=False)
                optimizer = make_optimizer(self._optimizer_spec, self._policy, step)
                optimizer.build(model.trainable_variables)
                trainer = TrainStep(model, optimizer, self._optimizer_spec, self._loss_spec, self._policy, step)
                compiled = trainer.compile(iter(stream))
            else:
                compiled = self._compile_inference_steps(model, iter(stream.repeat() if hasattr(stream, "repeat") else stream))

            def call(count: int) -> None:
                result = compiled(tf.constant(count, tf.int64))
                float(result[0] if isinstance(result, tuple) else result)  # wait for the device

            if warmup_steps:
                call(warmup_steps)
            per_call = self._run.steps_per_call or max(1, steps // 10)
            seconds: list[float] = []
            while len(seconds) < steps:
                count = min(per_call, steps - len(seconds))
                tick = time.perf_counter()
                call(count)
                seconds += [(time.perf_counter() - tick) / count] * count
        return BenchmarkRun(
            step_seconds=tuple(seconds), peak_memory_bytes=peak_resident_bytes(),
            device=self._plan.device, precision=self._policy, data_format=self._plan.data_format,
        )

    @staticmethod
    def _compile_inference_steps(model: Any, iterator: Any):
        import tensorflow as tf

        @tf.function
        def infer_steps(count):
            total = tf.constant(0.0, tf.float32)
            for _ in tf.range(count):
                images, _ = next(iterator)
                total += tf.reduce_sum(tf.cast(model(images, training=False), tf.float32))
            return total

        return infer_steps


def peak_resident_bytes() -> int:
    """The process's peak resident memory (Linux reports kilobytes, macOS bytes)."""
    import resource
    import sys

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(peak if sys.platform == "darwin" else peak * 1024)
