"""A stand-in for industrial data in the own-folders layout: most images clean, a few with one
small, low-contrast defect (a short scratch a few pixels wide, or a small blob), images of
several sizes. It is the case where pixel cross-entropy on squashed images collapses to
predicting background, for tests and for trying the own-data preset (`unet synth rare`).

Writes `images/NNNN.png` and, for defective images, `masks/NNNN.png` (0/255).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import attrs
import numpy as np

from unet_defects.adapters.datasets.synthetic_dagm import _smooth_noise
from unet_defects.adapters.images import write_png
from unet_defects.domain.errors import ConfigError


@attrs.frozen(kw_only=True)
class SyntheticRareSpec:
    images: int = 80
    defective_fraction: float = 0.3
    min_side: int = 64
    max_side: int = 160
    contrast: float = 30.0  # the defect's brightness change, against a texture of std about 20
    seed: int = 0

    def __attrs_post_init__(self) -> None:
        if self.images < 2:
            raise ConfigError(f"synthetic.images: must be >= 2, got {self.images}")
        if not 16 <= self.min_side <= self.max_side:
            raise ConfigError(f"synthetic.min_side: needs 16 <= min_side <= max_side, got {self.min_side}, "
                              f"{self.max_side}")
        if not 0.0 <= self.defective_fraction <= 1.0:
            raise ConfigError(f"synthetic.defective_fraction: must be in [0, 1], got {self.defective_fraction}")


def _defect(rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    """A scratch (a short line 1-3 pixels wide) or a blob (a few pixels across), as a mask."""
    yy, xx = np.mgrid[0:height, 0:width] + 0.5
    cy, cx = rng.uniform(0.15, 0.85) * height, rng.uniform(0.15, 0.85) * width
    if rng.random() < 0.6:
        angle, length = rng.uniform(0, np.pi), rng.uniform(8, 24)
        along = (xx - cx) * np.cos(angle) + (yy - cy) * np.sin(angle)
        across = -(xx - cx) * np.sin(angle) + (yy - cy) * np.cos(angle)
        return (np.abs(along) <= length / 2) & (np.abs(across) <= rng.uniform(0.6, 1.6))
    radius = rng.uniform(1.5, 3.5)
    return (yy - cy) ** 2 + (xx - cx) ** 2 <= radius ** 2


def generate(spec: SyntheticRareSpec, output: str | os.PathLike,
             progress: Callable[[str], None] | None = None) -> Path:
    output = Path(output)
    (output / "images").mkdir(parents=True, exist_ok=True)
    (output / "masks").mkdir(exist_ok=True)
    rng = np.random.default_rng(spec.seed)
    defective = rng.permutation(spec.images) < round(spec.defective_fraction * spec.images)
    if progress:
        progress(f"{spec.images} images, {int(defective.sum())} defective")
    for index in range(spec.images):
        height, width = (int(rng.integers(spec.min_side, spec.max_side + 1)) for _ in range(2))
        size = max(height, width)
        texture = 128.0 + 20.0 * _smooth_noise(rng, size, 0.08, 1.5, rng.uniform(0, np.pi))[:height, :width]
        texture += 4.0 * rng.standard_normal((height, width))
        name = f"{index:04d}.png"
        if defective[index]:
            mask = _defect(rng, height, width)
            texture = np.where(mask, texture + rng.choice([-1.0, 1.0]) * spec.contrast, texture)
            write_png(output / "masks" / name, np.where(mask, 255, 0).astype(np.uint8))
        write_png(output / "images" / name, np.clip(np.rint(texture), 0, 255).astype(np.uint8))
    return output
