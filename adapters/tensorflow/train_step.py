"""The compiled training call: several optimizer steps per call, each over `grad_accum_steps`
micro-batches, with the configured loss, clipping and loss scaling.

Loss scaling matters only for float16 compute (bfloat16 and float32 have float32's range),
so it is active only under mixed_float16:
- "dynamic": the reference's rule (domain.loss_scaling) in the graph; a step whose
  gradients overflow is skipped, not applied;
- "tf_dynamic": Keras' LossScaleOptimizer;
- a number: a fixed scale, overflowing steps skipped as well.
"""

from __future__ import annotations

from typing import Any

from unet_defects.adapters.tensorflow.encoders import ENCODER_LAYER
from unet_defects.adapters.tensorflow.losses import make_training_loss
from unet_defects.domain.losses import LossSpec
from unet_defects.domain.training import OptimizerSpec

PREVIEW_IMAGES = 3  # images per training summary step with model.log_image_summaries


def loss_scaling_mode(spec: OptimizerSpec, policy: str) -> str:
    """none, static, dynamic or tf_dynamic."""
    if policy != "mixed_float16":
        return "none"
    if spec.loss_scaling_factor in ("dynamic", "tf_dynamic"):
        return spec.loss_scaling_factor
    return "none" if spec.loss_scaling_factor == 1.0 else "static"


class TrainStep:
    """Builds `run_steps(count) -> (mean loss, first non-finite step or -1, preview)` and owns
    the state it keeps between calls (loss scale, accumulators), which `checkpointed()` lists."""

    def __init__(self, model: Any, optimizer: Any, optimizer_spec: OptimizerSpec, loss_spec: LossSpec,
                 policy: str, step: Any, previews: bool = False, freeze_encoder_steps: int = 0) -> None:
        import tensorflow as tf

        self._model = model
        self._optimizer = optimizer
        self._spec = optimizer_spec
        self._loss = make_training_loss(loss_spec, classifier_head=len(model.outputs) > 1)
        self._mode = loss_scaling_mode(optimizer_spec, policy)
        self._step = step
        self._previews = previews
        self._rule = optimizer_spec.dynamic_rule()
        initial = {"dynamic": self._rule.initial_scale, "static": optimizer_spec.loss_scaling_factor}.get(self._mode, 1.0)
        self.loss_scale = tf.Variable(initial, dtype=tf.float32, trainable=False, name="loss_scale")
        self.scale_steps = tf.Variable(0, dtype=tf.int64, trainable=False, name="loss_scale_steps")
        self.scale_overflows = tf.Variable(0, dtype=tf.int64, trainable=False, name="loss_scale_overflows")
        self.skipped = tf.Variable(0, dtype=tf.int64, trainable=False, name="skipped_steps")
        variables = model.trainable_variables
        # model.freeze_encoder_steps: the backbone's gradients are zero until then (with Adam's
        # moments starting at zero, its weights do not move; its batch statistics still do).
        self._freeze_steps = freeze_encoder_steps
        encoder = next((layer for layer in model.layers if layer.name == ENCODER_LAYER), None)
        frozen = {id(v) for v in encoder.trainable_variables} if encoder is not None and freeze_encoder_steps else set()
        self._frozen = [id(v) in frozen for v in variables]
        self._accumulators = ([tf.Variable(tf.zeros_like(v), trainable=False) for v in variables]
                              if optimizer_spec.grad_accum_steps > 1 else [])
        shapeless = tf.TensorShape(None)
        self._preview = [tf.Variable(tf.zeros([0], dtype), shape=shapeless, trainable=False)
                         for dtype in (tf.float32, tf.float32, tf.float32)]

    def checkpointed(self) -> dict[str, Any]:
        return {"loss_scale": self.loss_scale, "loss_scale_steps": self.scale_steps,
                "loss_scale_overflows": self.scale_overflows}

    # -- one micro-batch -----------------------------------------------------------------------

    def _gradients(self, images, masks, replicas: int = 1):
        """The local batch's loss and the gradients of loss / replicas: the optimizer sums the
        replicas' gradients, which makes the mean over the global batch."""
        import tensorflow as tf

        uses_keras_scaling = self._mode == "tf_dynamic"
        with tf.GradientTape() as tape:
            loss, logits = self._loss(masks, self._model(images, training=True))
            share = loss / replicas if replicas > 1 else loss
            if uses_keras_scaling:
                objective = self._optimizer.scale_loss(share)
            elif self._mode in ("dynamic", "static"):
                objective = share * self.loss_scale
            else:
                objective = share
        gradients = tape.gradient(objective, self._model.trainable_variables)
        if self._mode in ("dynamic", "static"):
            gradients = [g / self.loss_scale for g in gradients]
        if self._previews:
            self._preview[0].assign(tf.cast(images[:PREVIEW_IMAGES], tf.float32))
            self._preview[1].assign(tf.cast(masks[:PREVIEW_IMAGES], tf.float32))
            self._preview[2].assign(tf.sigmoid(tf.cast(logits[:PREVIEW_IMAGES], tf.float32)))
        return loss, gradients

    def _clipped(self, gradients):
        """Clipped (max_gradient_norm or max_gradient_value), the frozen encoder's set to zero."""
        import tensorflow as tf

        if any(self._frozen):
            training_encoder = self._step >= self._freeze_steps
            gradients = [tf.where(training_encoder, g, tf.zeros_like(g)) if frozen else g
                         for g, frozen in zip(gradients, self._frozen)]

        if self._spec.max_gradient_norm:
            gradients, _ = tf.clip_by_global_norm(gradients, self._spec.max_gradient_norm)
        elif self._spec.max_gradient_value:
            limit = self._spec.max_gradient_value
            gradients = [tf.clip_by_value(g, -limit, limit) for g in gradients]
        return gradients

    def _update_scale(self, finite):
        """unet_defects.domain.loss_scaling.DynamicLossScaleRule.update, in the graph."""
        import tensorflow as tf

        rule = self._rule
        steps = self.scale_steps + 1
        overflows = self.scale_overflows + tf.cast(tf.logical_not(finite), tf.int64)
        scale = self.loss_scale
        decrease = tf.cast(overflows, tf.float32) / tf.cast(steps, tf.float32) > rule.overflow_tolerance
        scale = tf.where(decrease, scale / 2.0, scale)
        steps = tf.where(decrease, tf.zeros_like(steps), steps)
        overflows = tf.where(decrease, tf.zeros_like(overflows), overflows)
        increase = steps >= rule.steps_per_increase
        scale = tf.where(increase, scale * 2.0, scale)
        steps = tf.where(increase, tf.zeros_like(steps), steps)
        overflows = tf.where(increase, tf.zeros_like(overflows), overflows)
        self.loss_scale.assign(tf.clip_by_value(scale, rule.min_scale, rule.max_scale))
        self.scale_steps.assign(steps)
        self.scale_overflows.assign(overflows)

    # -- one optimizer step --------------------------------------------------------------------

    def _one_step(self, iterator):
        import tensorflow as tf

        variables = self._model.trainable_variables
        accumulate = self._spec.grad_accum_steps
        if accumulate == 1:
            images, masks = next(iterator)
            loss, gradients = self._gradients(images, masks)
        else:
            total = tf.constant(0.0, tf.float32)
            for _ in tf.range(accumulate):
                images, masks = next(iterator)
                micro_loss, micro_gradients = self._gradients(images, masks)
                for accumulator, gradient in zip(self._accumulators, micro_gradients):
                    accumulator.assign_add(gradient)
                total += micro_loss
            loss = total / accumulate
            gradients = [accumulator / accumulate for accumulator in self._accumulators]
            for accumulator in self._accumulators:
                accumulator.assign(tf.zeros_like(accumulator))
        gradients = self._clipped(gradients)
        if self._mode in ("dynamic", "static"):
            finite = tf.math.is_finite(tf.linalg.global_norm(gradients))

            def apply():
                self._optimizer.apply_gradients(zip(gradients, variables))
                return tf.constant(0, tf.int64)

            self.skipped.assign_add(tf.cond(finite, apply, lambda: tf.constant(1, tf.int64)))
            if self._mode == "dynamic":
                self._update_scale(finite)
        else:
            self._optimizer.apply_gradients(zip(gradients, variables))
        self._step.assign_add(1)
        return loss

    def step_on(self, images, masks):
        """One optimizer step on a given batch (what --validate_only traces and --compile_only
        compiles); the loss."""
        return self._one_step(_Single(images, masks))

    def _replica_step(self, images, masks, replicas: int):
        loss, gradients = self._gradients(images, masks, replicas)
        gradients = self._clipped(gradients)
        self._optimizer.apply_gradients(zip(gradients, self._model.trainable_variables))
        return loss

    def compile(self, iterator, strategy: Any = None, jit: bool = False) -> Any:
        """The multi-step call; with `jit`, each optimizer step inside it is one XLA-compiled
        function (the loop itself reads the iterator, which XLA cannot compile)."""
        import tensorflow as tf

        step = self._step
        if strategy is not None:
            replicas = strategy.num_replicas_in_sync

            @tf.function
            def run_distributed(count):
                total = tf.constant(0.0, tf.float32)
                first_bad = tf.constant(-1, tf.int64)
                for _ in tf.range(count):
                    images, masks = next(iterator)
                    losses = strategy.run(self._replica_step, args=(images, masks, replicas))
                    loss = strategy.reduce(tf.distribute.ReduceOp.MEAN, losses, axis=None)
                    step.assign_add(1)
                    bad = tf.logical_and(first_bad < 0, tf.logical_not(tf.math.is_finite(loss)))
                    first_bad = tf.where(bad, tf.cast(step.read_value(), tf.int64), first_bad)
                    total += loss
                return total / tf.cast(count, tf.float32), first_bad

            return run_distributed

        one_step = self._one_step
        if jit:
            compiled = tf.function(self.step_on, jit_compile=True)

            def one_step(batches):
                images, masks = next(batches)
                return compiled(images, masks)

        @tf.function
        def run_steps(count):
            total = tf.constant(0.0, tf.float32)
            first_bad = tf.constant(-1, tf.int64)
            for _ in tf.range(count):
                loss = one_step(iterator)
                bad = tf.logical_and(first_bad < 0, tf.logical_not(tf.math.is_finite(loss)))
                first_bad = tf.where(bad, step, first_bad)
                total += loss
            return total / tf.cast(count, tf.float32), first_bad

        return run_steps

    def preview(self) -> tuple[Any, Any, Any]:
        """The first images of the last micro-batch, their masks and predicted probabilities."""
        return tuple(self._preview)


class _Single:
    """An iterator-like source of one fixed batch, for `_one_step` on a given batch."""

    def __init__(self, images, masks) -> None:
        self._batch = (images, masks)

    def __next__(self):
        return self._batch
