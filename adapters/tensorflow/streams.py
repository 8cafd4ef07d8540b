"""What a tf.data stream delivers, as the plain values application code reads."""

from __future__ import annotations

from typing import Any

from unet_defects.application.values import BatchSpec, TensorSpec


def describe(stream: Any) -> BatchSpec:
    """A stream's element as plain shapes and dtype names."""
    spec = getattr(stream, "element_spec", None)
    try:
        images, masks = spec
        return BatchSpec(TensorSpec(tuple(images.shape.as_list()), images.dtype.name),
                         TensorSpec(tuple(masks.shape.as_list()), masks.dtype.name))
    except (TypeError, ValueError, AttributeError):
        return BatchSpec(None, None, problem=f"the training stream yields {spec!r}, not (images, masks)")
