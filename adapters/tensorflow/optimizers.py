"""Keras optimizers from an OptimizerSpec, with the reference's parameter names."""

from __future__ import annotations

from typing import Any

from domain.errors import NotYetSupported
from domain.training import OptimizerSpec


def make_optimizer(spec: OptimizerSpec, policy: str) -> Any:
    import keras

    if not isinstance(spec.learning_rate, float):
        raise NotYetSupported(
            "optimizer.learning_rate: learning-rate schedules arrive with the executors issue; use a number for now"
        )
    if spec.grad_accum_steps != 1:
        raise NotYetSupported("optimizer.grad_accum_steps: gradient accumulation arrives with the executors issue")
    reduced = policy != "float32"
    common: dict[str, Any] = {"learning_rate": spec.learning_rate}
    if spec.max_gradient_norm:
        common["global_clipnorm"] = spec.max_gradient_norm
    if spec.max_gradient_value:
        common["clipvalue"] = spec.max_gradient_value
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
    if policy == "mixed_float16":
        # float16 gradients underflow without loss scaling; bfloat16 has float32's range.
        if isinstance(spec.loss_scaling_factor, float):
            optimizer = keras.optimizers.LossScaleOptimizer(
                optimizer, initial_scale=spec.loss_scaling_factor, dynamic_growth_steps=2**62
            )
        else:
            optimizer = keras.optimizers.LossScaleOptimizer(
                optimizer, initial_scale=spec.initial_loss_scale, dynamic_growth_steps=spec.steps_per_increase
            )
    return optimizer
