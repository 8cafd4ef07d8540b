"""The compiled training step: accumulation, clipping, schedules, loss scaling, seeds."""

import numpy as np
import pytest
import tensorflow as tf

from unet_defects.adapters.tensorflow.builder import KerasUNetBuilder
from unet_defects.adapters.tensorflow.optimizers import make_optimizer
from unet_defects.adapters.tensorflow.schedules import learning_rate_fn
from unet_defects.adapters.tensorflow.train_step import TrainStep
from unet_defects.domain.loss_scaling import DynamicLossScaleRule
from unet_defects.domain.losses import LossSpec
from unet_defects.domain.schedules import LearningRateSchedule
from unet_defects.domain.topology import UNetSpec
from unet_defects.domain.training import OptimizerSpec

SPEC = UNetSpec(image_shape=(16, 16, 1), encoder_filters=(4, 8), decoder_filters=(4,), data_format="channels_last")


def batches(count, size, seed=0):
    rng = np.random.default_rng(seed)
    images = rng.normal(size=(count * size, 16, 16, 1)).astype(np.float32)
    masks = (rng.random((count * size, 16, 16, 1)) > 0.8).astype(np.float32)
    return images, masks


def one_update(optimizer_spec, images, masks, batch, policy="float32", steps=1, seed=3):
    model = KerasUNetBuilder(policy, "channels_last", seed=seed).build(SPEC)
    step = tf.Variable(0, dtype=tf.int64)
    optimizer = make_optimizer(optimizer_spec, policy, step)
    optimizer.build(model.trainable_variables)
    trainer = TrainStep(model, optimizer, optimizer_spec, LossSpec(), policy, step)
    stream = tf.data.Dataset.from_tensor_slices((images, masks)).batch(batch).repeat()
    loss, first_bad = trainer.compile(iter(stream))(tf.constant(steps, tf.int64))
    return model, trainer, float(loss), int(first_bad)


def test_accumulated_micro_batches_update_like_one_larger_batch():
    images, masks = batches(4, 2)
    accumulated, _, loss_a, _ = one_update(OptimizerSpec(optimizer_type="sgd", learning_rate=0.5, grad_accum_steps=4),
                                           images, masks, batch=2)
    whole, _, loss_w, _ = one_update(OptimizerSpec(optimizer_type="sgd", learning_rate=0.5), images, masks, batch=8)
    initial = KerasUNetBuilder("float32", "channels_last", seed=3).build(SPEC).get_weights()
    moved = max(np.abs(a - b).max() for a, b in zip(whole.get_weights(), initial))
    assert moved > 1e-3  # the update is not trivially zero
    for a, b in zip(accumulated.get_weights(), whole.get_weights()):
        np.testing.assert_allclose(a, b, atol=1e-6)
    assert loss_a == pytest.approx(loss_w, rel=1e-5)


def test_clipping_by_value_bounds_every_gradient():
    images, masks = batches(1, 4)
    initial = KerasUNetBuilder("float32", "channels_last", seed=3).build(SPEC).get_weights()
    model, *_ = one_update(OptimizerSpec(optimizer_type="sgd", learning_rate=1.0, max_gradient_value=1e-4),
                           images, masks, batch=4)
    change = max(np.abs(a - b).max() for a, b in zip(model.get_weights(), initial))
    assert 0 < change <= 1e-4 * 1.001  # float32 rounding of w - g
    model, *_ = one_update(OptimizerSpec(optimizer_type="sgd", learning_rate=1.0, max_gradient_norm=1e-3),
                           images, masks, batch=4)
    norm = np.sqrt(sum(float(np.sum((a - b) ** 2)) for a, b in zip(model.get_weights(), initial)))
    assert norm == pytest.approx(1e-3, rel=1e-3)


@pytest.mark.parametrize("learning_rate", [
    {"scheduler": "Exponential", "initial_learning_rate": 0.1, "decay_steps": 7, "decay_rate": 0.5, "staircase": True},
    {"scheduler": "PiecewiseConstant", "boundaries": [3, 9], "values": [0.3, 0.2, 0.1]},
    [{"scheduler": "Linear", "initial_learning_rate": 0.0, "end_learning_rate": 0.1, "steps": 5},
     {"scheduler": "Cosine", "initial_learning_rate": 0.1, "decay_steps": 20, "alpha": 0.1}],
    {"scheduler": "Polynomial", "initial_learning_rate": 0.1, "end_learning_rate": 0.01, "steps": 10,
     "power": 2.0, "cycle": True},
])
def test_the_graph_schedule_equals_the_domain_formula(learning_rate):
    schedule = LearningRateSchedule.parse(learning_rate)
    step = tf.Variable(0, dtype=tf.int64)
    rate = learning_rate_fn(schedule, step)
    for value in range(0, 40, 3):
        step.assign(value)
        assert float(rate()) == pytest.approx(schedule.rate(value), rel=1e-5, abs=1e-8)


def test_the_optimizer_follows_the_schedule_of_the_global_step():
    step = tf.Variable(0, dtype=tf.int64)
    spec = OptimizerSpec(optimizer_type="sgd", learning_rate={"scheduler": "PiecewiseConstant", "boundaries": [2],
                                                              "values": [0.5, 0.25]})
    optimizer = make_optimizer(spec, "float32", step)
    assert float(optimizer.learning_rate) == 0.5
    step.assign(3)
    assert float(optimizer.learning_rate) == 0.25


def test_a_schedule_that_follows_the_budget_stands_its_lead_ahead_of_the_global_step():
    step, lead = tf.Variable(0, dtype=tf.int64), tf.Variable(0.0, dtype=tf.float32)
    cosine = {"scheduler": "Cosine", "initial_learning_rate": 1e-2, "decay_steps": 40, "alpha": 0.01}
    optimizer = make_optimizer(OptimizerSpec(learning_rate=cosine), "float32", step, lead)
    schedule = OptimizerSpec(learning_rate=cosine).schedule()
    step.assign(10)
    assert float(optimizer.learning_rate) == pytest.approx(schedule.rate(10), rel=1e-5)
    lead.assign(26.0)
    assert float(optimizer.learning_rate) == pytest.approx(schedule.rate(36), rel=1e-5)


def test_the_in_graph_dynamic_loss_scale_follows_the_domain_rule():
    images, masks = batches(1, 2)
    spec = OptimizerSpec(loss_scaling_factor="dynamic", initial_loss_scale=64.0, steps_per_increase=4,
                         max_loss_scale=256.0, overflow_tolerance=0.2)
    _, trainer, _, _ = one_update(spec, images, masks, batch=2, policy="mixed_float16", steps=1)
    rule = DynamicLossScaleRule(initial_scale=64.0, steps_per_increase=4, max_scale=256.0, overflow_tolerance=0.2)
    trainer.loss_scale.assign(64.0)
    trainer.scale_steps.assign(0)
    trainer.scale_overflows.assign(0)
    state = rule.start()
    for finite in [True, True, False, True, True, True, True, True, False, False, True]:
        trainer._update_scale(tf.constant(finite))
        state = rule.update(state, finite)
        assert (float(trainer.loss_scale), int(trainer.scale_steps), int(trainer.scale_overflows)) == (
            state.scale, state.steps, state.overflows)


def test_an_overflowing_float16_step_is_skipped_and_the_scale_halves():
    images, masks = batches(1, 2)
    spec = OptimizerSpec(optimizer_type="sgd", learning_rate=0.1, loss_scaling_factor="dynamic",
                         initial_loss_scale=1e12, max_loss_scale=1e12)
    initial = KerasUNetBuilder("mixed_float16", "channels_last", seed=3).build(SPEC).get_weights()
    model, trainer, loss, first_bad = one_update(spec, images, masks, batch=2, policy="mixed_float16")
    assert int(trainer.skipped) == 1 and float(trainer.loss_scale) == pytest.approx(5e11)
    assert first_bad == -1 and np.isfinite(loss)  # the loss itself was fine; only the gradients overflowed
    for a, b in zip(model.get_weights(), initial):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("scaling", ["tf_dynamic", 128.0])
def test_one_float16_step_with_keras_or_a_fixed_loss_scale(scaling):
    images, masks = batches(1, 2)
    spec = OptimizerSpec(optimizer_type="sgd", learning_rate=0.1, loss_scaling_factor=scaling, initial_loss_scale=256.0)
    initial = KerasUNetBuilder("mixed_float16", "channels_last", seed=3).build(SPEC).get_weights()
    model, trainer, loss, first_bad = one_update(spec, images, masks, batch=2, policy="mixed_float16")
    assert np.isfinite(loss) and first_bad == -1
    assert max(np.abs(a - b).max() for a, b in zip(model.get_weights(), initial)) > 0  # the step was applied
    if scaling == "tf_dynamic":
        assert type(trainer._optimizer).__name__ == "LossScaleOptimizer"
        assert float(trainer._optimizer.dynamic_scale) == 256.0  # no overflow: the initial scale stays
    else:
        assert float(trainer.loss_scale) == 128.0 and int(trainer.skipped) == 0
        # The scale is divided out again: the update equals float16 training without any scale.
        plain, *_ = one_update(OptimizerSpec(optimizer_type="sgd", learning_rate=0.1), images, masks, batch=2,
                               policy="mixed_float16")
        for a, b in zip(model.get_weights(), plain.get_weights()):
            np.testing.assert_allclose(a, b, atol=2e-3)


def weights_after(optimizer_spec, steps):
    images, masks = batches(steps, 2)
    model, *_ = one_update(optimizer_spec, images, masks, batch=2, steps=steps)
    return model.get_weights()


def test_momentum_rmsprop_and_adamw_each_take_their_own_step():
    initial = KerasUNetBuilder("float32", "channels_last", seed=3).build(SPEC).get_weights()
    sgd = OptimizerSpec(optimizer_type="sgd", learning_rate=0.01)
    momentum = OptimizerSpec(optimizer_type="momentum", learning_rate=0.01, momentum=0.9)
    # A first momentum step is a plain SGD step (the velocity starts at zero); a second one is not.
    for a, b in zip(weights_after(momentum, 1), weights_after(sgd, 1)):
        np.testing.assert_allclose(a, b, atol=1e-7)
    assert max(np.abs(a - b).max() for a, b in zip(weights_after(momentum, 2), weights_after(sgd, 2))) > 1e-5
    # RMSprop's first step divides the gradient by sqrt(1 - rho) |g|: about lr / sqrt(0.1) per weight.
    rmsprop = weights_after(OptimizerSpec(optimizer_type="rmsprop", learning_rate=1e-3, rmsprop_decay=0.9), 1)
    largest = max(np.abs(a - b).max() for a, b in zip(rmsprop, initial))
    assert largest == pytest.approx(1e-3 / np.sqrt(0.1), rel=0.02)
    # AdamW is Adam plus a decay of lr x weight_decay x w, applied to the weights it started from.
    adam = weights_after(OptimizerSpec(optimizer_type="adam", learning_rate=1e-3), 1)
    adamw = weights_after(OptimizerSpec(optimizer_type="adamw", learning_rate=1e-3, weight_decay_rate=0.5), 1)
    for w, a, b in zip(initial, adamw, adam):
        np.testing.assert_allclose(a - b, -1e-3 * 0.5 * w, atol=1e-7)
