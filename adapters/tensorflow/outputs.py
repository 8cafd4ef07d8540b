"""What a built network returns: NHWC pixel logits, and with model.classifier_head also (N, K)
image logits. Every caller takes them apart here, so a network without the head is unchanged."""

from __future__ import annotations

from typing import Any


def split_outputs(outputs: Any) -> tuple[Any, Any]:
    """(pixel logits, image logits or None)."""
    if isinstance(outputs, (list, tuple)):
        return outputs[0], outputs[1]
    return outputs, None


def pixel_logits(outputs: Any) -> Any:
    return split_outputs(outputs)[0]
