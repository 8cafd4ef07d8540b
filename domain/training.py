"""Optimizer and run specs (`optimizer`, `runconfig`) and the step arithmetic of a run."""

from __future__ import annotations

from typing import Any, ClassVar

import attrs

from unet_defects.domain.durations import parse_duration
from unet_defects.domain.errors import ConfigError
from unet_defects.domain.loss_scaling import DynamicLossScaleRule
from unet_defects.domain.metrics import SCORE_NAMES
from unet_defects.domain.schedules import LearningRateSchedule
from unet_defects.domain.validation import (
    fail,
    int_at_least,
    is_bool,
    is_str,
    number_in,
    one_of,
    optional,
    to_float,
)

OPTIMIZERS = ("sgd", "momentum", "adam", "adamw", "rmsprop")
LOSS_SCALING_MODES = ("dynamic", "tf_dynamic")
EXECUTORS = ("auto", "tensorflow", "cerebras")
SCHEDULE_CLOCKS = ("steps", "time_budget")
MODES = ("train", "eval", "eval_all", "train_and_eval", "train_benchmark", "inference_benchmark")


def _learning_rate(instance: Any, attribute: Any, value: Any) -> None:
    """A positive number, or a scheduler mapping / list of mappings (domain.schedules)."""
    LearningRateSchedule.parse(value)


def _loss_scaling(instance: Any, attribute: Any, value: Any) -> None:
    if isinstance(value, str):
        one_of(LOSS_SCALING_MODES)(instance, attribute, value)
    else:
        number_in(0.0, 1e12, low_open=True)(instance, attribute, value)


def _learning_rate_converter(value: Any) -> Any:
    return to_float(value) if isinstance(value, (str, int)) else value


def _loss_scaling_converter(value: Any) -> Any:
    return value if value in LOSS_SCALING_MODES else to_float(value)


def _auto_or_bool(instance: Any, attribute: Any, value: Any) -> None:
    if value != "auto" and not isinstance(value, bool):
        fail(instance, attribute, f"expected true, false or auto, got {value!r}")


def _budget(value: Any) -> float | None:
    return None if value is None else parse_duration(value, "runconfig.time_budget")


positive = number_in(0.0, 1e12, low_open=True)
non_negative = number_in(0.0, 1e12)
fraction = number_in(0.0, 1.0)


@attrs.frozen(kw_only=True)
class OptimizerSpec:
    SECTION: ClassVar[str] = "optimizer"

    optimizer_type: str = attrs.field(default="adam", validator=one_of(OPTIMIZERS))
    learning_rate: Any = attrs.field(default=1.0e-4, converter=_learning_rate_converter, validator=_learning_rate)
    loss_scaling_factor: Any = attrs.field(default=1.0, converter=_loss_scaling_converter, validator=_loss_scaling)
    log_summaries: bool = attrs.field(default=False, validator=is_bool)
    log_grads: bool = attrs.field(default=False, validator=is_bool)
    log_hists: bool = attrs.field(default=False, validator=is_bool)
    beta1: float = attrs.field(default=0.9, converter=to_float, validator=fraction)
    beta2: float = attrs.field(default=0.999, converter=to_float, validator=fraction)
    epsilon: float | None = attrs.field(default=None, converter=to_float, validator=optional(positive))
    momentum: float = attrs.field(default=0.9, converter=to_float, validator=fraction)
    weight_decay_rate: float = attrs.field(default=0.0, converter=to_float, validator=non_negative)
    rmsprop_decay: float = attrs.field(default=0.9, converter=to_float, validator=fraction)
    rmsprop_momentum: float = attrs.field(default=0.0, converter=to_float, validator=fraction)
    max_gradient_norm: float | None = attrs.field(default=None, converter=to_float, validator=optional(positive))
    max_gradient_value: float = attrs.field(default=0.0, converter=to_float, validator=non_negative)
    grad_accum_steps: int = attrs.field(default=1, validator=int_at_least(1))
    initial_loss_scale: float = attrs.field(default=2.0**15, converter=to_float, validator=positive)
    steps_per_increase: int = attrs.field(default=2000, validator=int_at_least(1))
    min_loss_scale: float = attrs.field(default=2.0**-14, converter=to_float, validator=positive)
    max_loss_scale: float = attrs.field(default=2.0**15, converter=to_float, validator=positive)
    overflow_tolerance: float = attrs.field(default=0.05, converter=to_float, validator=fraction)
    disable_lr_steps_reset: bool = attrs.field(default=False, validator=is_bool)
    # Beyond the reference: `time_budget` runs the schedule ahead when the budget left, at the run's
    # pace, ends training before max_steps, so that its last step falls on the last step trained
    # (domain.schedules.budget_position): a run slower than planned still ends annealed.
    schedule_follows: str = attrs.field(default="steps", validator=one_of(SCHEDULE_CLOCKS))

    def __attrs_post_init__(self) -> None:
        if self.max_gradient_norm and self.max_gradient_value:
            raise ConfigError("optimizer.max_gradient_value: clip by norm or by value, not both "
                              "(max_gradient_norm is set too)")

    def schedule(self) -> LearningRateSchedule:
        return LearningRateSchedule.parse(self.learning_rate, reset_steps=not self.disable_lr_steps_reset)

    def dynamic_rule(self) -> DynamicLossScaleRule:
        return DynamicLossScaleRule(
            initial_scale=self.initial_loss_scale, steps_per_increase=self.steps_per_increase,
            min_scale=self.min_loss_scale, max_scale=self.max_loss_scale, overflow_tolerance=self.overflow_tolerance,
        )

    def resolved_epsilon(self, reduced_precision: bool) -> float:
        """The reference's default: 1e-5 under mixed precision, else 1e-8."""
        if self.epsilon is not None:
            return self.epsilon
        return 1e-5 if reduced_precision else 1e-8


@attrs.frozen(kw_only=True)
class RunSpec:
    """The `runconfig` keys that are configuration (saved in params.yaml). One call's flags
    (`--steps`, `--mode`, ...) are domain.invocation.Invocation."""

    SECTION: ClassVar[str] = "runconfig"

    model_dir: str = attrs.field(validator=is_str)
    max_steps: int = attrs.field(default=1000, validator=int_at_least(0))
    eval_steps: int | None = attrs.field(default=None, validator=optional(int_at_least(-(2**62))))
    save_summary_steps: int = attrs.field(default=100, validator=int_at_least(1))
    save_checkpoints_steps: int = attrs.field(default=1000, validator=int_at_least(1))
    keep_checkpoint_max: int = attrs.field(default=5, validator=int_at_least(1))
    log_step_count_steps: int = attrs.field(default=100, validator=int_at_least(1))
    cs_ip: str | None = attrs.field(default=None, validator=optional(is_str))
    tf_random_seed: int | None = attrs.field(default=None, validator=optional(int_at_least(0)))
    enable_distributed: bool = attrs.field(default=False, validator=is_bool)
    multiple_workers: bool = attrs.field(default=False, validator=is_bool)
    throttle_secs: int = attrs.field(default=0, validator=int_at_least(0))
    # Optimizer steps per compiled call: 0 sizes calls to about two seconds each (fewer host
    # round trips); 1 is one call per step, as a plain loop (for comparison).
    steps_per_call: int = attrs.field(default=0, validator=int_at_least(0))
    # Which executor trains: auto (cerebras when cs_ip is given, else tensorflow), or either by name.
    executor: str = attrs.field(default="auto", validator=one_of(EXECUTORS))
    # Compile each training step with XLA: auto does where it can (no tf_random_seed, whose op
    # determinism XLA refuses; no gradient accumulation, distribution or image summaries).
    jit_compile: bool | str = attrs.field(default="auto", validator=_auto_or_bool)
    # Keep the checkpoint with the best evaluation score of this name in <model_dir>/best/.
    keep_best: str | None = attrs.field(default=None, validator=optional(one_of(SCORE_NAMES)))
    # Stop training (with a checkpoint, then evaluate) once a call has trained this long,
    # evaluations during training included: 30m, 1h30m, 90s or seconds. max_steps still ends it first.
    time_budget: float | None = attrs.field(default=None, converter=lambda v: _budget(v))
    # train_and_eval with a validation part: calibrate the decision on it with the chosen
    # checkpoint at the end (calibration.json), before the test images are scored.
    calibrate: bool = attrs.field(default=False, validator=is_bool)
    # The part verdict calibration aims at: the fewest false alarms finding at least this share
    # of the defective parts; None: the best image F1.
    image_recall: float | None = attrs.field(default=None, converter=to_float,
                                             validator=optional(number_in(0.0, 1.0, low_open=True)))
    # Log the run to MLflow at this tracking URI (a server, or sqlite:///<folder>/mlflow.db);
    # None: nothing is tracked. The model_dir keeps its run's id, so resuming continues it.
    tracking_uri: str | None = attrs.field(default=None, validator=optional(is_str))

    def __attrs_post_init__(self) -> None:
        if self.executor == "cerebras" and not self.cs_ip:
            raise ConfigError("runconfig.executor: cerebras needs the system's address (--cs_ip or runconfig.cs_ip)")
        if self.time_budget is not None and self.executor_name() == "cerebras":
            raise ConfigError("runconfig.time_budget: not supported on a Cerebras system yet (its Estimator runs to "
                              "max_steps); set runconfig.max_steps instead")

    def executor_name(self) -> str:
        if self.executor == "auto":
            return "cerebras" if self.cs_ip else "tensorflow"
        return self.executor

    def eval_batches(self) -> int | None:
        """How many eval batches to run; None (all) when eval_steps is unset or <= 0."""
        if self.eval_steps is None or self.eval_steps <= 0:
            return None
        return self.eval_steps

    @property
    def cadence(self) -> Cadence:
        return Cadence(checkpoint_every=self.save_checkpoints_steps, summary_every=self.save_summary_steps,
                       log_every=self.log_step_count_steps)


@attrs.frozen(kw_only=True)
class Cadence:
    """When a training run checkpoints, writes summaries and logs: every trainer follows it."""

    checkpoint_every: int
    summary_every: int
    log_every: int

    def next_stop(self, step: int, target: int, per_call: int | None = None) -> int:
        """The next step to stop at: a checkpoint, summary or log step, `target`, or at most
        `per_call` steps on."""
        stop = next_boundary(step, target, (self.checkpoint_every, self.summary_every, self.log_every))
        return min(stop, step + per_call) if per_call else stop

    def checkpoint_due(self, step: int, target: int) -> bool:
        return is_due(step, self.checkpoint_every) or step == target

    def summary_due(self, step: int) -> bool:
        return is_due(step, self.summary_every)

    def log_due(self, step: int) -> bool:
        return is_due(step, self.log_every)


def newest(steps: list[int], keep: int) -> list[int]:
    """The steps a run keeps after a save: the `keep` newest (keep_checkpoint_max)."""
    return sorted(steps)[-keep:]


def next_boundary(step: int, target: int, every: tuple[int, ...]) -> int:
    """The first step after `step` that is a multiple of one of `every`, or `target`.

    The executor runs several steps per compiled call up to this boundary, so that logging,
    summaries and checkpoints happen exactly on their steps without a host sync per step.
    """
    candidates = [target] + [(step // period + 1) * period for period in every if period > 0]
    return min(c for c in candidates if c > step) if target > step else step


def is_due(step: int, period: int) -> bool:
    return period > 0 and step % period == 0
