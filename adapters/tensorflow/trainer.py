"""TensorFlowTrainer: the training loop on the local device(s).

Training runs several steps per compiled call (a tf.range loop inside one tf.function), up
to the next log, summary or checkpoint step of the run's cadence, so there is one host sync
per call, not per step. It resumes from the newest readable checkpoint, holds the model_dir's
lock, and turns SIGINT/SIGTERM into a checkpoint before it exits.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import math
import re
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from unet_defects.adapters.guards import StopSignals, check_writable
from unet_defects.adapters.locking import ModelDirLock
from unet_defects.adapters.tensorflow.checkpoints import (
    CheckpointWriter,
    listed,
    newest_readable,
    no_readable,
    restore_into,
    set_aside,
)
from unet_defects.adapters.tensorflow.device import DevicePlan, device_scope, op_determinism_enabled
from unet_defects.adapters.tensorflow.distribution import is_chief, worker_label
from unet_defects.adapters.tensorflow.previews import write_previews
from unet_defects.adapters.tensorflow.training_setup import TrainingSetup, build_training
from unet_defects.application.ports import TrainingJob
from unet_defects.application.tracking import NO_TRACKING, RunTracker
from unet_defects.application.values import CheckpointRef, TrainOutcome
from unet_defects.domain.durations import median_step_seconds
from unet_defects.domain.errors import TrainingDiverged, TrainingInterrupted, UnetError
from unet_defects.domain.losses import LossSpec
from unet_defects.domain.schedules import BudgetPace
from unet_defects.domain.tracking_names import TRAIN_LEARNING_RATE, TRAIN_LOSS
from unet_defects.domain.training import OptimizerSpec, RunSpec

log = logging.getLogger("unet")

# Aim for a compiled call of about this many seconds, so progress shows while steps stay batched.
SECONDS_PER_CALL = 2.0


def plain_reason(error: Exception) -> str:
    """An OS or TensorFlow error's first line without TensorFlow's op decorations."""
    text = (getattr(error, "message", None) or str(error)).splitlines()[0]
    text = re.sub(r"\{\{[^}]*\}\}\s*", "", text)
    return re.sub(r"\s*\[Op:[^\]]*\]?$", "", text)[:200]


class TensorFlowTrainer:
    def __init__(
        self,
        run: RunSpec,
        optimizer: OptimizerSpec,
        plan: DevicePlan,
        loss: LossSpec,
        normalization: tuple[float, float] = (1.0, 0.0),
        batch_size: int = 1,
        image_summaries: bool = False,
        strategy: Any = None,
        device: str | None = None,
        warm_start: str | None = None,
        jit: bool = False,
        freeze_encoder_steps: int = 0,
        clock: Callable[[], float] = time.perf_counter,
        tracker: RunTracker = NO_TRACKING,
    ) -> None:
        self._tracker = tracker  # the loss and learning rate (the next step's) at each log step, from the chief
        self._run = run
        self._optimizer_spec = optimizer
        self._plan = plan
        self._loss_spec = loss
        self._normalization = normalization
        self._batch_size = batch_size
        self._image_summaries = image_summaries
        self._strategy = strategy
        self._device = device
        self._warm_start = warm_start
        self._jit = jit
        self._freeze_encoder_steps = freeze_encoder_steps
        self._clock = clock  # the loop's time: its budget, deadline and speed (a fake one in tests)
        self._model_dir = Path(run.model_dir)

    @staticmethod
    def name() -> str:
        return "tensorflow"

    @staticmethod
    def is_available() -> bool:
        """TensorFlow runs on this machine's CPU, or its GPUs when it sees them."""
        return True

    def _scope(self) -> Any:
        """Where models and optimizers must be created for the distribution strategy."""
        return self._strategy.scope() if self._strategy is not None else contextlib.nullcontext()

    def train(self, job: TrainingJob) -> TrainOutcome:
        import tensorflow as tf

        if self._run.tf_random_seed is not None:
            # Same seed, same data, same weights: multi-threaded kernels may otherwise sum in any
            # order. (Process-wide; XLA compilation refuses some ops under it, so only here.)
            tf.config.experimental.enable_op_determinism()
        with device_scope(self._device), self._scope():
            model = job.build_model()
        stream = job.open_stream()
        chief = is_chief(self._strategy)
        # Non-chief workers save too (tf.distribute needs every worker in a save), into scratch.
        save_dir = self._model_dir if chief else self._model_dir / f".{worker_label(self._strategy)}-scratch"
        if chief:
            # Weights plus two optimizer slots each, in float32, twice over (old and new checkpoint).
            check_writable(self._model_dir, needed_bytes=2 * 3 * 4 * int(model.count_params()))
        lock = ModelDirLock(self._model_dir) if chief else contextlib.nullcontext()
        with device_scope(self._device), lock, StopSignals() as stop, self._scope():
            setup = build_training(model, self._optimizer_spec, self._loss_spec, self._plan.policy,
                                   previews=self._image_summaries, freeze_encoder_steps=self._freeze_encoder_steps)
            checkpoint = setup.checkpoint(model)
            self._resume(checkpoint, model, chief)
            save_dir.mkdir(parents=True, exist_ok=True)
            writer = CheckpointWriter(checkpoint, save_dir, self._run.keep_checkpoint_max)
            start = int(setup.step.numpy())
            batches = iter(self._distributed(stream)) if self._strategy is not None else iter(stream)
            # Op determinism is process-wide: an earlier seeded run in this process rules XLA out too.
            jit = self._jit and not op_determinism_enabled()
            run_steps = setup.train_step.compile(batches, self._strategy, jit=jit)
            if jit:
                log.info("each training step is compiled with XLA (runconfig.jit_compile)")
            summaries = (tf.summary.create_file_writer(str(self._model_dir)) if chief
                         else tf.summary.create_noop_writer())
            try:
                return self._loop(run_steps, setup, writer, summaries, start, job, chief, stop)
            finally:
                if not chief:
                    shutil.rmtree(save_dir, ignore_errors=True)
                # The compiled loop holds the stream's iterator in a reference cycle: collect it
                # now, or its prefetch threads live on (and a test process's exit waits on them).
                del run_steps, batches
                gc.collect()

    def _resume(self, checkpoint: Any, model: Any, chief: bool) -> None:
        """Restore the newest readable checkpoint (its step with it); damaged newer ones are set
        aside. With none, --checkpoint_path warm-starts the weights from step 0."""
        import tensorflow as tf

        refs = listed(self._model_dir)
        chosen, skipped = newest_readable(refs)
        if skipped and chosen is None:
            raise no_readable(self._model_dir, skipped)
        if skipped and chief:
            kept = [ref for ref in refs if ref.step <= chosen.step]
            folder = set_aside(self._model_dir, [ref for ref, _ in skipped], kept)
            for ref, reason in skipped:
                log.warning("%s: cannot read checkpoint (%s); its files are kept in %s, training resumes from %s",
                            ref.path, reason, folder, chosen.path)
        if chosen is not None:
            restore_into(checkpoint, chosen.path)
        elif self._warm_start:
            source = self._warm_start
            if Path(source).is_dir():
                source = tf.train.latest_checkpoint(source)
            if not source or not tf.io.gfile.exists(source + ".index"):
                raise UnetError(f"{self._warm_start}: --checkpoint_path names no checkpoint to warm-start from")
            restore_into(tf.train.Checkpoint(model=model), source).expect_partial()
            log.info("warm start: weights from %s, training from step 0", source)

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

    def _save(self, writer: CheckpointWriter, step: int) -> str:
        import tensorflow as tf

        try:
            return writer.save(step)
        except (tf.errors.OpError, OSError) as error:
            kept = listed(self._model_dir)
            raise UnetError(
                f"{self._model_dir}: cannot write the checkpoint of step {step} ({plain_reason(error)}); "
                f"the last complete checkpoint is step {kept[-1].step if kept else 0}"
            ) from None

    def _summaries(self, summaries: Any, setup: TrainingSetup, step: int, loss: float,
                   images_per_second: float) -> None:
        import tensorflow as tf

        with summaries.as_default(step=step):
            tf.summary.scalar("loss", loss)
            tf.summary.scalar("images_per_second", images_per_second)
            tf.summary.scalar("learning_rate", setup.optimizer.learning_rate)  # the next step's, lead included
            if self._plan.policy == "mixed_float16":
                tf.summary.scalar("loss_scale", setup.train_step.loss_scale)
            if self._image_summaries:
                write_previews(*setup.train_step.preview(), self._normalization)
        summaries.flush()

    def _loop(self, run_steps, setup: TrainingSetup, writer: CheckpointWriter, summaries, start: int,
              job: TrainingJob, chief: bool, stop: StopSignals) -> TrainOutcome:
        import tensorflow as tf

        cadence, target, observer = self._run.cadence, job.target_step, job.observer
        after_checkpoint = job.after_checkpoint if chief else None
        observer.started(start, target, job.time_budget)
        clock = self._clock
        began = clock()
        deadline = began + job.time_budget if job.time_budget else None
        stopped_by = "max_steps"
        current, per_call, loss, images_per_second = start, 1, float("nan"), 0.0
        step_seconds: list[tuple[float, int]] = []  # (seconds a step, steps) of each call but the first
        pace = BudgetPace(start, target, deadline) if setup.schedule_lead is not None and deadline is not None else None
        while current < target:
            boundary = cadence.next_stop(current, target, per_call)
            count = boundary - current
            tick = clock()
            mean_loss, first_bad = run_steps(tf.constant(count, tf.int64))
            loss, bad = float(mean_loss), int(first_bad)
            elapsed = clock() - tick
            if bad >= 0 or not math.isfinite(loss):
                kept = listed(self._model_dir)
                raise TrainingDiverged(
                    f"step {bad if bad >= 0 else boundary}: the loss is not finite ({loss}); training stopped, "
                    f"the last good checkpoint is step {kept[-1].step if kept else 0}"
                )
            if current > start:  # the first call traces the step
                step_seconds.append((elapsed / count, count))
            current = boundary
            images_per_second = count * self._batch_size / elapsed if elapsed > 0 else 0.0
            per_call = self._next_call_size(per_call, count, elapsed, current - start)
            if deadline is not None:  # no call runs far past the budget
                left = (deadline - clock()) / max(elapsed / count, 1e-9)
                per_call = max(1, min(per_call, int(left) + 1))
            if cadence.summary_due(current):
                self._summaries(summaries, setup, current, loss, images_per_second)
            observer.progressed(current, loss, images_per_second, cadence.log_due(current))
            if chief and self._tracker.active and (cadence.log_due(current) or current == target):
                self._tracker.log_metrics(current, {TRAIN_LOSS: loss, TRAIN_LEARNING_RATE: setup.learning_rate()})
            if stop.signum is not None:
                path = self._save(writer, current)
                observer.checkpointed(current, path)
                raise TrainingInterrupted(f"{stop.name} received: stopped at step {current}, checkpoint saved: {path}",
                                          stop.signum)
            out_of_time = deadline is not None and clock() >= deadline and current < target
            if cadence.checkpoint_due(current, target) or out_of_time:
                path = self._save(writer, current)
                observer.checkpointed(current, path)
                if after_checkpoint is not None:
                    after_checkpoint(CheckpointRef(current, path))
            if out_of_time:
                stopped_by = "time_budget"
                break
            lead = pace.lead(clock(), current) if pace is not None else None  # after evaluations: they spend it too
            if lead is not None:
                setup.schedule_lead.assign(lead)
        outcome = TrainOutcome(start_step=start, final_step=current, last_loss=loss,
                               images_per_second=images_per_second, seconds=clock() - began,
                               stopped_by=stopped_by, median_step_seconds=median_step_seconds(step_seconds),
                               schedule_lead=float(setup.schedule_lead.numpy()) if setup.schedule_lead is not None
                               else 0.0)
        observer.finished(outcome)
        return outcome

    def _next_call_size(self, per_call: int, count: int, elapsed: float, done: int) -> int:
        """runconfig.steps_per_call, or calls of about SECONDS_PER_CALL: the first call includes
        tracing, so the second runs 2 steps and later ones size themselves from the last."""
        if self._run.steps_per_call:
            return self._run.steps_per_call
        if done > count or per_call > 1:
            return max(1, min(10_000, int(SECONDS_PER_CALL * count / max(elapsed, 1e-6))))
        return 2
