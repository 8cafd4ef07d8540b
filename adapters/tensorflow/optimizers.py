"""Keras optimizers from an OptimizerSpec, with the reference's parameter names."""

from __future__ import annotations

from typing import Any

from unet_defects.adapters.tensorflow.schedules import learning_rate_fn
from unet_defects.adapters.tensorflow.train_step import loss_scaling_mode
from unet_defects.domain.training import OptimizerSpec


def make_optimizer(spec: OptimizerSpec, policy: str, step: Any = None, lead: Any = None) -> Any:
    """The optimizer, its learning rate following the schedule at `step` (the run's global step
    variable) plus `lead` (steps the schedule stands ahead, when it follows the budget). Clipping
    and accumulation happen in the training step (adapters.tensorflow.train_step)."""
    import keras

    reduced = policy != "float32"
    schedule = spec.schedule()
    if not schedule.is_constant() and step is None:
        raise ValueError("a learning-rate schedule needs the global step variable")
    common: dict[str, Any] = {"learning_rate": learning_rate_fn(schedule, step, lead)}
    kind = spec.optimizer_type
    if kind == "sgd":
        optimizer = keras.optimizers.SGD(**common)
    elif kind == "momentum":
        optimizer = keras.optimizers.SGD(momentum=spec.momentum, **common)
    elif kind == "adam":
        optimizer = keras.optimizers.Adam(
            beta_1=spec.beta1, beta_2=spec.beta2, epsilon=spec.resolved_epsilon(reduced), **common
        )
    elif kind == "adamw":
        optimizer = keras.optimizers.AdamW(
            weight_decay=spec.weight_decay_rate, beta_1=spec.beta1, beta_2=spec.beta2,
            epsilon=spec.resolved_epsilon(reduced), **common,
        )
    else:  # rmsprop
        optimizer = keras.optimizers.RMSprop(
            rho=spec.rmsprop_decay, momentum=spec.rmsprop_momentum,
            epsilon=spec.resolved_epsilon(reduced), **common,
        )
    if loss_scaling_mode(spec, policy) == "tf_dynamic":
        optimizer = keras.optimizers.LossScaleOptimizer(
            optimizer, initial_scale=spec.initial_loss_scale, dynamic_growth_steps=spec.steps_per_increase
        )
    return optimizer
