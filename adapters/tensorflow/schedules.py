"""unet_defects.domain.schedules evaluated in the graph, from the run's own global step variable."""

from __future__ import annotations

import math
from typing import Any

from unet_defects.domain.schedules import LearningRateSchedule, Segment


def _segment_rate(segment: Segment, step: Any) -> Any:
    import tensorflow as tf

    p = segment.values
    kind = segment.scheduler
    if kind == "Constant":
        return tf.constant(p["learning_rate"], tf.float32)
    if kind == "Exponential":
        exponent = step / float(p["decay_steps"])
        if p["staircase"]:
            exponent = tf.floor(exponent)
        return p["initial_learning_rate"] * tf.pow(tf.constant(p["decay_rate"], tf.float32), exponent)
    if kind == "PiecewiseConstant":
        rate = tf.constant(p["values"][-1], tf.float32)
        for boundary, value in reversed(list(zip(p["boundaries"], p["values"]))):
            rate = tf.where(step <= float(boundary), tf.constant(value, tf.float32), rate)
        return rate
    if kind in ("Polynomial", "Linear"):
        decay_steps = tf.constant(float(p["steps"]), tf.float32)
        if p["cycle"]:
            decay_steps = decay_steps * tf.maximum(1.0, tf.math.ceil(step / decay_steps))
        else:
            step = tf.minimum(step, decay_steps)
        power = 1.0 if kind == "Linear" else p["power"]
        fraction = tf.pow(1.0 - step / decay_steps, power)
        return (p["initial_learning_rate"] - p["end_learning_rate"]) * fraction + p["end_learning_rate"]
    step = tf.minimum(step, float(p["decay_steps"]))
    cosine = 0.5 * (1.0 + tf.cos(math.pi * step / float(p["decay_steps"])))
    return p["initial_learning_rate"] * ((1.0 - p["alpha"]) * cosine + p["alpha"])


def learning_rate_fn(schedule: LearningRateSchedule, step_variable: Any, lead: Any = None):
    """A no-argument callable (what Keras optimizers accept) giving the rate at the current step;
    `lead`: a float variable of steps the schedule stands ahead of the global step (a schedule
    that follows the time budget: domain.schedules.budget_position)."""
    import tensorflow as tf

    if schedule.is_constant():
        return schedule.rate(0)

    def rate():
        step = tf.cast(step_variable, tf.float32)
        if lead is not None:
            step = step + tf.cast(lead, tf.float32)
        chosen = None
        for segment in reversed(schedule.segments):
            local = step - float(segment.start) if schedule.reset_steps else step
            value = tf.cast(_segment_rate(segment, local), tf.float32)
            if chosen is None:
                chosen = value
            else:
                chosen = tf.where(step < float(segment.start + segment.length), value, chosen)
        return chosen

    return rate
