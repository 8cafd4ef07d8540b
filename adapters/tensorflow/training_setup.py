"""The one place that builds what a training step needs: the global step, the optimizer over
the model's variables, and the compiled TrainStep. Training, --validate_only/--compile_only
and the train benchmark all start here, so they train the same way."""

from __future__ import annotations

from typing import Any

import attrs

from unet_defects.adapters.tensorflow.optimizers import make_optimizer
from unet_defects.adapters.tensorflow.train_step import TrainStep
from unet_defects.domain.losses import LossSpec
from unet_defects.domain.training import OptimizerSpec


@attrs.define
class TrainingSetup:
    step: Any  # tf.Variable int64, the global step the schedules and checkpoints follow
    optimizer: Any
    train_step: TrainStep
    # tf.Variable float32: steps the learning-rate schedule stands ahead of `step` (the trainer
    # sets it when the schedule follows the time budget; not checkpointed: a resumed call's
    # budget starts anew)
    schedule_lead: Any = None

    def learning_rate(self) -> float:
        """The next step's rate, lead included (a distributed optimizer's is a MirroredVariable,
        which float() does not take)."""
        import tensorflow as tf

        return float(tf.convert_to_tensor(self.optimizer.learning_rate))

    def checkpoint(self, model: Any) -> Any:
        """A tf.train.Checkpoint of everything a resumed run needs."""
        import tensorflow as tf

        return tf.train.Checkpoint(model=model, optimizer=self.optimizer, step=self.step,
                                   **self.train_step.checkpointed())


def build_training(model: Any, optimizer_spec: OptimizerSpec, loss_spec: LossSpec, policy: str,
                   previews: bool = False, freeze_encoder_steps: int = 0) -> TrainingSetup:
    import tensorflow as tf

    step = tf.Variable(0, dtype=tf.int64, trainable=False, name="global_step")
    lead = (tf.Variable(0.0, dtype=tf.float32, trainable=False, name="schedule_lead")
            if optimizer_spec.schedule_follows == "time_budget" else None)
    optimizer = make_optimizer(optimizer_spec, policy, step, lead)
    optimizer.build(model.trainable_variables)
    train_step = TrainStep(model, optimizer, optimizer_spec, loss_spec, policy, step, previews=previews,
                           freeze_encoder_steps=freeze_encoder_steps)
    return TrainingSetup(step=step, optimizer=optimizer, train_step=train_step, schedule_lead=lead)
