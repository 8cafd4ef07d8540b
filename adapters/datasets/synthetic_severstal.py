"""A generator of Severstal-layout datasets: rolled-steel textures with defects of four classes.

It writes `train_images/<id>.jpg` (1600 x 256, gray stored as RGB, like the real files) and a
`train.csv` (`ImageId,ClassId,EncodedPixels`, one row per image and defect class, no row for
a defect-free image), for tests and demos of the Severstal reader.
"""

from __future__ import annotations

import csv
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

import attrs
import numpy as np

from unet_defects.domain import rle
from unet_defects.domain.errors import ConfigError

HEIGHT, WIDTH = rle.SEVERSTAL_SHAPE
# Per class: (major axis range as a fraction of the height, minor/major ratio range, brightness shift).
DEFECT_SHAPES = {1: ((0.05, 0.12), (0.5, 1.0), 60.0), 2: ((0.3, 0.6), (0.05, 0.15), -55.0),
                 3: ((0.2, 0.5), (0.3, 0.7), 50.0), 4: ((0.4, 0.8), (0.5, 0.9), -65.0)}


@attrs.frozen(kw_only=True)
class SyntheticSeverstalSpec:
    images: int = 60
    defect_free_fraction: float = 0.25
    seed: int = 0

    def __attrs_post_init__(self) -> None:
        if self.images < 1:
            raise ConfigError(f"--images: must be >= 1, got {self.images}")
        if not 0.0 <= self.defect_free_fraction <= 1.0:
            raise ConfigError(f"--defect_free_fraction: must be in [0, 1], got {self.defect_free_fraction}")


def _steel(rng: np.random.Generator) -> np.ndarray:
    """Low-passed noise stretched along the rolling direction, plus grain."""
    noise = rng.standard_normal((HEIGHT, WIDTH))
    fy = np.fft.fftfreq(HEIGHT)[:, None]
    fx = np.fft.fftfreq(WIDTH)[None, :]
    envelope = np.exp(-((fx / 0.01) ** 2 + (fy / 0.08) ** 2))
    field = np.real(np.fft.ifft2(np.fft.fft2(noise) * envelope))
    field /= field.std() + 1e-8
    return 100.0 + 18.0 * field + 6.0 * rng.standard_normal((HEIGHT, WIDTH))


def _defect(rng: np.random.Generator, class_id: int) -> np.ndarray:
    (low, high), (thin, thick), _ = DEFECT_SHAPES[class_id]
    major = rng.uniform(low, high) * HEIGHT
    minor = major * rng.uniform(thin, thick)
    cy, cx = rng.uniform(0.15 * HEIGHT, 0.85 * HEIGHT), rng.uniform(0.05 * WIDTH, 0.95 * WIDTH)
    angle = rng.uniform(0, np.pi)
    yy, xx = np.mgrid[0:HEIGHT, 0:WIDTH] + 0.5
    u = (xx - cx) * np.cos(angle) + (yy - cy) * np.sin(angle)
    v = -(xx - cx) * np.sin(angle) + (yy - cy) * np.cos(angle)
    return (u / major) ** 2 + (v / minor) ** 2 <= 1.0


def generate(spec: SyntheticSeverstalSpec, output: str | os.PathLike,
             progress: Callable[[str], None] | None = None) -> Path:
    """Write the dataset under `output`; images land in a staging folder renamed at the end."""
    import imageio.v3 as iio

    output = Path(output)
    output.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(spec.seed)
    staging = Path(tempfile.mkdtemp(prefix=".severstal-", dir=output))
    rows: list[tuple[str, int, str]] = []
    try:
        (staging / "train_images").mkdir()
        for index in range(spec.images):
            image_id = f"{rng.integers(0, 16**9):09x}.jpg"
            image = _steel(rng)
            if rng.random() >= spec.defect_free_fraction:
                masks: dict[int, np.ndarray] = {}
                for _ in range(rng.integers(1, 3)):
                    class_id = int(rng.choice([1, 2, 3, 3, 3, 4]))  # class 3 dominates, as in the real data
                    mask = _defect(rng, class_id)
                    masks[class_id] = masks.get(class_id, np.zeros_like(mask)) | mask
                    image = np.where(mask, image + DEFECT_SHAPES[class_id][2], image)
                rows += [(image_id, class_id, rle.encode(mask)) for class_id, mask in sorted(masks.items())]
            gray = np.clip(np.rint(image), 0, 255).astype(np.uint8)
            iio.imwrite(staging / "train_images" / image_id, np.repeat(gray[..., None], 3, axis=2), quality=95)
            if progress and (index + 1) % 20 == 0:
                progress(f"{index + 1}/{spec.images} images")
        with open(staging / "train.csv", "w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle, lineterminator="\n")
            writer.writerow(["ImageId", "ClassId", "EncodedPixels"])
            writer.writerows(rows)
        for name in ("train_images", "train.csv"):
            target = output / name
            if target.is_dir():
                shutil.rmtree(target)
            os.replace(staging / name, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return output
