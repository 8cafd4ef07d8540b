"""The whole resolved configuration of one run, and the rules that span sections."""

from __future__ import annotations

from typing import Any, ClassVar

import attrs

from unet_defects.domain.augmentation import AugmentationSpec
from unet_defects.domain.data import DataSpec
from unet_defects.domain.errors import ConfigError
from unet_defects.domain.losses import LossSpec
from unet_defects.domain.masks import DECISION_SPACES, DecisionRule
from unet_defects.domain.metrics import SCORE_NAMES
from unet_defects.domain.plan_record import PlanRecord
from unet_defects.domain.topology import UNetSpec
from unet_defects.domain.training import OptimizerSpec, RunSpec
from unet_defects.domain.tta import TTA_MODES
from unet_defects.domain.validation import fail, is_bool, number_in, one_of, to_float, to_tuple

REFERENCE_METRICS = ("mIOU", "DSC", "MPCA", "Acc")
PRECISIONS = ("auto", "float32", "mixed_bfloat16", "mixed_float16")


def _metric_names(instance: Any, attribute: Any, value: Any) -> None:
    if not isinstance(value, tuple):
        fail(instance, attribute, f"expected a list of metric names, got {value!r}")
    for name in value:
        if name not in REFERENCE_METRICS:
            fail(instance, attribute, f"unknown metric {name!r}; expected any of: {', '.join(REFERENCE_METRICS)}")


def _probabilities(instance: Any, attribute: Any, value: Any) -> None:
    if not isinstance(value, tuple):
        fail(instance, attribute, f"expected a list of probabilities, got {value!r}")
    for item in value:
        if isinstance(item, bool) or not isinstance(item, (int, float)) or not 0.0 < item < 1.0:
            fail(instance, attribute, f"every threshold must be a probability in (0, 1), got {item!r}")


def _label_values(instance: Any, attribute: Any, value: Any) -> None:
    if not isinstance(value, tuple) or any(not isinstance(v, int) or isinstance(v, bool) for v in value):
        fail(instance, attribute, f"expected a list of integer label values, got {value!r}")


@attrs.frozen(kw_only=True)
class EvalSpec:
    SECTION: ClassVar[str] = "model"

    eval_metrics: tuple[str, ...] = attrs.field(default=REFERENCE_METRICS, converter=to_tuple, validator=_metric_names)
    eval_ignore_classes: tuple[int, ...] = attrs.field(default=(), converter=to_tuple, validator=_label_values)
    decision_threshold: float = attrs.field(default=0.5, converter=to_float, validator=number_in(-1e6, 1e6))
    decision_space: str = attrs.field(default="probability", validator=one_of(DECISION_SPACES))
    log_image_summaries: bool = attrs.field(default=False, validator=is_bool)
    # Beyond the reference: the scores are also reported at these probability thresholds.
    eval_thresholds: tuple[float, ...] = attrs.field(default=(), converter=to_tuple, validator=_probabilities)
    # Beyond the reference: `classifier` empties a class's mask unless the classifier head says
    # the part has that class or the mask's largest component is large (domain.gate).
    decision_gate: str = attrs.field(default="none", validator=one_of(("none", "classifier")))
    # Beyond the reference: the test-time augmentation the model's inference runs (predict, the
    # Inspector, the server, evaluation, calibration, and built into exports) when no --tta says otherwise.
    inference_tta: str = attrs.field(default="none", validator=one_of(TTA_MODES))

    def __attrs_post_init__(self) -> None:
        try:
            self.rule
        except ValueError as error:
            raise ConfigError(f"model.decision_threshold: {error}") from None

    @property
    def rule(self) -> DecisionRule:
        return DecisionRule(threshold=self.decision_threshold, space=self.decision_space)

    def threshold_rules(self) -> tuple[DecisionRule, ...]:
        return tuple(DecisionRule(threshold=float(t)) for t in self.eval_thresholds)

    def reported_scores(self) -> tuple[str, ...]:
        """The reference metrics asked for, then the defect-only scores this project adds."""
        extra = tuple(name for name in SCORE_NAMES if name not in REFERENCE_METRICS)
        return self.eval_metrics + extra


@attrs.frozen(kw_only=True)
class PrecisionSpec:
    SECTION: ClassVar[str] = "model"

    mixed_precision: bool = attrs.field(default=False, validator=is_bool)
    # Beyond the reference: force a precision instead of the per-device choice, and keep
    # model.data_format as written instead of the device's faster layout.
    precision: str = attrs.field(default="auto", validator=one_of(PRECISIONS))
    force_data_format: bool = attrs.field(default=False, validator=is_bool)


@attrs.frozen(kw_only=True)
class CerebrasSpec:
    """Knobs passed to the Cerebras stack only; they change nothing elsewhere."""

    SECTION: ClassVar[str] = "csconfig"

    use_cbfloat16: bool = attrs.field(default=False, validator=is_bool)


@attrs.frozen(kw_only=True)
class CerebrasModelKnobs:
    """`model` keys that only the Cerebras compiler reads; accepted and kept, no effect elsewhere."""

    SECTION: ClassVar[str] = "model"

    boundary_casting: bool = attrs.field(default=False, validator=is_bool)
    tf_summary: bool = attrs.field(default=False, validator=is_bool)


@attrs.frozen
class TrainingCost:
    images: int
    flops_per_image: int

    @property
    def flops(self) -> int:
        return self.images * self.flops_per_image

    def describe(self) -> str:
        return (f"{self.images:,} images x {self.flops_per_image / 1e9:.2f} GFLOP = {self.flops / 1e12:.2f} TFLOP "
                "(forward and backward)")


@attrs.frozen(kw_only=True)
class ExperimentSpec:
    data: DataSpec
    eval_data: DataSpec
    model: UNetSpec
    evaluation: EvalSpec
    precision: PrecisionSpec
    optimizer: OptimizerSpec
    run: RunSpec
    cerebras: CerebrasSpec
    cerebras_model: CerebrasModelKnobs = attrs.field(factory=CerebrasModelKnobs)
    augmentation: AugmentationSpec = attrs.field(factory=AugmentationSpec)
    loss: LossSpec = attrs.field(factory=LossSpec)
    plan: PlanRecord = attrs.field(factory=PlanRecord)

    def __attrs_post_init__(self) -> None:
        if self.run.enable_distributed and self.optimizer.loss_scaling_factor == "dynamic":
            raise ConfigError(
                "optimizer.loss_scaling_factor: 'dynamic' cannot be used with runconfig.enable_distributed; "
                "use 'tf_dynamic'"
            )
        if self.cerebras.use_cbfloat16 and not self.precision.mixed_precision:
            raise ConfigError("csconfig.use_cbfloat16: needs model.mixed_precision: True")
        if not self.model.classifier_head:
            if self.evaluation.decision_gate == "classifier":
                raise ConfigError("model.decision_gate: classifier needs model.classifier_head: true")
            if self.data.image_labels_only:
                raise ConfigError("train_input.image_labels_only: parts without masks train only the classifier; "
                                  "set model.classifier_head: true")
        if self.run.calibrate and self.data.validation_split is None:
            raise ConfigError("runconfig.calibrate: calibrates on the validation part, apart from the test images; set "
                              "train_input.validation_split (e.g. 0.2)")
        if self.optimizer.schedule_follows == "time_budget" and self.run.time_budget is None:
            raise ConfigError("optimizer.schedule_follows: time_budget needs runconfig.time_budget (or set it to steps)")
        self.xla_training()  # an explicit jit_compile: True that cannot hold fails here, in one line

    def xla_training(self) -> tuple[bool, str]:
        """Whether each training step is compiled with XLA (runconfig.jit_compile), and why."""
        blockers = {
            "runconfig.tf_random_seed": self.run.tf_random_seed is not None,  # XLA refuses op determinism
            "optimizer.grad_accum_steps": self.optimizer.grad_accum_steps > 1,
            "runconfig.enable_distributed": self.run.enable_distributed,
            "model.log_image_summaries": self.evaluation.log_image_summaries,
        }
        blocked = [key for key, present in blockers.items() if present]
        if self.run.jit_compile is False:
            return False, "runconfig.jit_compile is False"
        if blocked:
            if self.run.jit_compile is True:
                raise ConfigError(f"runconfig.jit_compile: XLA cannot compile the training step with {blocked[0]} "
                                  "set; use jit_compile: auto or false")
            return False, f"not with {blocked[0]}"
        return True, "runconfig.jit_compile is " + str(self.run.jit_compile)

    def training_cost(self, steps: int) -> TrainingCost:
        """What `steps` optimizer steps cost: images seen and the FLOPs of each (forward and backward)."""
        images = steps * self.data.train_batch_size * self.optimizer.grad_accum_steps
        return TrainingCost(images=images, flops_per_image=self.model.training_flops())

    def memory_problem(self, memory_bytes: int) -> str | None:
        """Why one training batch cannot be built here, in one line, or None. The outputs of every
        layer are kept for the backward pass, in float32 at least: their sum is a floor of what a
        step needs (gradients and workspace come on top), so only a sure failure is refused."""
        batch = self.data.train_batch_size
        layers = self.model.layers()
        values = [layer.out_height * layer.out_width * layer.out_channels * batch for layer in layers]
        height, width = self.model.image_shape[:2]
        where = f"train_input.image_shape: {height}x{width} with train_batch_size {batch}"
        needed = 4 * sum(values)
        if needed > memory_bytes:
            return (f"{where} needs at least {needed / 2**30:,.1f} GiB for its activations, more than this "
                    f"machine's {memory_bytes / 2**30:,.1f} GiB; train on crops (train_input.image_fit: crop), "
                    "a smaller image_shape or batch")
        return None

    def ignored_keys(self) -> tuple[str, ...]:
        """Keys the reference reads that are set here but not acted on yet."""
        ignored = {"optimizer.log_grads": self.optimizer.log_grads, "optimizer.log_hists": self.optimizer.log_hists}
        return tuple(key for key, value in ignored.items() if value)
