"""The one place that builds what a training step needs: the global step, the optimizer over
the model's variables, and the compiled TrainStep. Training, --validate_only/--compile_only
and the train benchmark all start here, so they train the same way."""

from __future__ import annotations

from typing import Any

import attrs

from adapters.tensorflow.optimizers import make_optimizer
from adapters.tensorflow.train_step import TrainStep
from domain.losses import LossSpec
from domain.training import OptimizerSpec


@attrs.define
class TrainingSetup:
    step: Any  # tf.Variable int64, the global step the schedules and checkpoints follow
    optimizer: Any
    train_step: TrainStep

    def checkpoint(self, model: Any) -> Any:
        """A tf.train.Checkpoint of everything a resumed run needs."""
        import tensorflow as tf

        return tf.train.Checkpoint(model=model, optimizer=self.optimizer, step=self.step,
                                   **self.train_step.checkpointed())


def build_training(model: Any, optimizer_spec: OptimizerSpec, loss_spec: LossSpec, policy: str,
                   previews: bool = False, freeze_encoder_steps: int = 0) -> TrainingSetup:
    import tensorflow as tf

    step = tf.Variable(0, dtype=tf.int64, trainable=False, name="global_step")
    optimizer = make_optimizer(optimizer_spec, policy, step)
    optimizer.build(model.trainable_variables)
    train_step = TrainStep(model, optimizer, optimizer_spec, loss_spec, policy, step, previews=previews,
                           freeze_encoder_steps=freeze_encoder_steps)
    return TrainingSetup(step=step, optimizer=optimizer, train_step=train_step)
