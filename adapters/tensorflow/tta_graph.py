"""Test-time augmentation inside a TensorFlow graph, so an export can carry it (domain.tta)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from domain.tta import Transform, transforms


def _forward(x: Any, transform: Transform) -> Any:
    import tensorflow as tf

    if transform.up_down:
        x = tf.reverse(x, [1])
    if transform.flip:
        x = tf.reverse(x, [2])
    return tf.image.rot90(x, transform.quarter_turns) if transform.quarter_turns else x


def _inverse(x: Any, transform: Transform) -> Any:
    import tensorflow as tf

    if transform.quarter_turns:
        x = tf.image.rot90(x, 4 - transform.quarter_turns)
    if transform.flip:
        x = tf.reverse(x, [2])
    return tf.reverse(x, [1]) if transform.up_down else x


def averaged_graph(probabilities: Callable[[Any], Any], x: Any, mode: str) -> Any:
    """The mean of `probabilities` (N, H, W, 1) over the mode's transforms of `x`."""
    chosen = transforms(mode)
    outputs = [_inverse(probabilities(_forward(x, t)), t) for t in chosen]
    return outputs[0] if len(outputs) == 1 else sum(outputs[1:], outputs[0]) / float(len(outputs))
