"""Test-time augmentation inside a TensorFlow graph, so an export can carry it (domain.tta)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from unet_defects.domain.tta import Transform, transforms


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
    return averaged_graph_outputs(lambda copy: (probabilities(copy), None), x, mode)[0]


def _mean(values: list) -> Any:
    return values[0] if len(values) == 1 else sum(values[1:], values[0]) / float(len(values))


def averaged_graph_outputs(outputs: Callable[[Any], tuple[Any, Any]], x: Any, mode: str) -> tuple[Any, Any]:
    """As `averaged_graph`, for (pixel maps, image-level (N, K) probabilities or None): the maps
    are mapped back before their mean, the image probabilities need not be."""
    found = [(outputs(_forward(x, t)), t) for t in transforms(mode)]
    maps = _mean([_inverse(pair[0], t) for pair, t in found])
    images = [pair[1] for pair, _ in found]
    return maps, None if images[0] is None else _mean(images)
