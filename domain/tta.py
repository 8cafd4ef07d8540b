"""Test-time augmentation: average the defect probabilities of flipped and rotated copies.

`flip`: identity, left-right, up-down. `d4`: the eight symmetries of the square (four quarter
turns, each with and without a left-right flip); a quarter turn swaps height and width, so
d4 needs square inputs (the training size or square tiles). Arrays are (N, H, W, ...), so
the same transforms apply to a batch of images and to its probabilities.
"""

from __future__ import annotations

from collections.abc import Callable

import attrs
import numpy as np

from unet_defects.domain.errors import ConfigError

TTA_MODES = ("none", "flip", "d4")


@attrs.frozen
class Transform:
    """Turn by `quarter_turns` x 90 degrees counter-clockwise after an optional left-right flip."""

    flip: bool = False
    quarter_turns: int = 0
    up_down: bool = False

    def forward(self, batch: np.ndarray) -> np.ndarray:
        out = batch[:, ::-1] if self.up_down else batch
        out = out[:, :, ::-1] if self.flip else out
        return np.rot90(out, self.quarter_turns, axes=(1, 2)) if self.quarter_turns else out

    def inverse(self, batch: np.ndarray) -> np.ndarray:
        out = np.rot90(batch, -self.quarter_turns, axes=(1, 2)) if self.quarter_turns else batch
        out = out[:, :, ::-1] if self.flip else out
        return out[:, ::-1] if self.up_down else out


def transforms(mode: str) -> tuple[Transform, ...]:
    if mode == "none":
        return (Transform(),)
    if mode == "flip":
        return Transform(), Transform(flip=True), Transform(up_down=True)
    if mode == "d4":
        return tuple(Transform(flip=flip, quarter_turns=turns) for flip in (False, True) for turns in range(4))
    raise ConfigError(f"--tta: unknown mode {mode!r}; expected one of: {', '.join(TTA_MODES)}")


def check_shape(mode: str, height: int, width: int) -> None:
    if mode == "d4" and height != width:
        raise ConfigError(f"--tta d4: quarter turns need square inputs, got {height}x{width}; "
                          "use --tta flip, or native tiles of a square size")


def averaged(outputs: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray | None]], batch: np.ndarray,
             mode: str) -> tuple[np.ndarray, np.ndarray | None]:
    """The mean of an engine's `outputs` over the mode's transforms of `batch`: the pixel maps
    each mapped back before their mean, the image-level (N, K) probabilities (or None) as they
    come."""
    chosen = transforms(mode)
    if len(chosen) > 1:
        check_shape(mode, batch.shape[1], batch.shape[2])
    total = images = None
    for transform in chosen:
        maps, image = outputs(np.ascontiguousarray(transform.forward(batch)))
        out = transform.inverse(maps)
        total = np.array(out, np.float32) if total is None else total + out
        if image is not None:
            images = np.array(image, np.float32) if images is None else images + image
    count = np.float32(len(chosen))
    return total / count, None if images is None else images / count
