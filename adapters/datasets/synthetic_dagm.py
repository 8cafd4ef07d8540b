"""A generator of DAGM-layout datasets: textured surfaces with elliptical defects.

It writes `ClassN/{Train,Test}/*.PNG`, `Label/<id>_label.PNG` and a byte-exact DAGM
`Labels.txt` (header `1`, CRLF, trailing tab on clean rows), so the DAGM reader reads it
like the real data. Unlike DAGM's weak labels, each mask is the exact defect ellipse.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

import attrs
import numpy as np

from unet_defects.adapters.datasets.dagm_labels import format_labels
from unet_defects.adapters.images import write_png
from unet_defects.domain.errors import ConfigError

MARKER = ".synthetic-complete.json"


@attrs.frozen(kw_only=True)
class SyntheticDagmSpec:
    class_ids: tuple[int, ...] = attrs.field(default=(1,), converter=tuple)
    train_images: int = 100
    test_images: int = 40
    defective_fraction: float = 0.8
    image_size: int = 128
    seed: int = 0

    def __attrs_post_init__(self) -> None:
        if not self.class_ids or any(not 1 <= c <= 10 for c in self.class_ids):
            raise ConfigError(f"synthetic.class_ids: every class id must be in 1..10, got {list(self.class_ids)}")
        for name in ("train_images", "test_images", "image_size"):
            if getattr(self, name) < 1:
                raise ConfigError(f"synthetic.{name}: must be >= 1, got {getattr(self, name)}")
        if self.image_size < 16:
            raise ConfigError(f"synthetic.image_size: must be >= 16, got {self.image_size}")
        if not 0.0 <= self.defective_fraction <= 1.0:
            raise ConfigError(f"synthetic.defective_fraction: must be in [0, 1], got {self.defective_fraction}")

    @classmethod
    def from_mapping(cls, values: dict) -> SyntheticDagmSpec:
        known = {field.name for field in attrs.fields(cls)}
        for key in values:
            if key not in known:
                raise ConfigError(f"train_input.synthetic.{key}: unknown key; known: {', '.join(sorted(known))}")
        try:
            return cls(**values)
        except (TypeError, ValueError) as error:
            raise ConfigError(f"train_input.synthetic: {error}") from None

    def as_dict(self) -> dict:
        return {**attrs.asdict(self), "class_ids": list(self.class_ids)}


def _smooth_noise(rng: np.random.Generator, size: int, cutoff: float, anisotropy: float, angle: float) -> np.ndarray:
    """Gaussian noise low-passed in Fourier space (an oriented texture), scaled to unit std."""
    noise = rng.standard_normal((size, size))
    fy = np.fft.fftfreq(size)[:, None]
    fx = np.fft.fftfreq(size)[None, :]
    u = fx * np.cos(angle) + fy * np.sin(angle)
    v = -fx * np.sin(angle) + fy * np.cos(angle)
    envelope = np.exp(-((u / cutoff) ** 2 + (v * anisotropy / cutoff) ** 2))
    field = np.real(np.fft.ifft2(np.fft.fft2(noise) * envelope))
    return field / (field.std() + 1e-8)


def _class_texture(class_id: int, rng: np.random.Generator, size: int) -> np.ndarray:
    """A background texture whose statistics depend on the class, as DAGM's ten textures do."""
    cutoff = 0.04 + 0.02 * (class_id % 5)
    anisotropy = 1.0 + 0.8 * (class_id % 3)
    angle = 0.3 * class_id
    texture = _smooth_noise(rng, size, cutoff, anisotropy, angle)
    texture += 0.35 * rng.standard_normal((size, size))  # sensor grain
    return 128.0 + 22.0 * texture


def _ellipse(rng: np.random.Generator, size: int) -> np.ndarray:
    """A filled ellipse of random centre, axes and angle, as a boolean mask."""
    margin = 0.2 * size
    cy, cx = rng.uniform(margin, size - margin, 2)
    major = rng.uniform(0.08, 0.2) * size
    minor = major * rng.uniform(0.3, 0.8)
    angle = rng.uniform(0, np.pi)
    yy, xx = np.mgrid[0:size, 0:size] + 0.5
    dy, dx = yy - cy, xx - cx
    u = dx * np.cos(angle) + dy * np.sin(angle)
    v = -dx * np.sin(angle) + dy * np.cos(angle)
    return (u / major) ** 2 + (v / minor) ** 2 <= 1.0


def _defective(texture: np.ndarray, mask: np.ndarray, rng: np.random.Generator, class_id: int) -> np.ndarray:
    """The texture with the ellipse region altered: shifted brightness and a finer grain."""
    size = texture.shape[0]
    shift = rng.choice([-1.0, 1.0]) * rng.uniform(45.0, 75.0)
    grain = _smooth_noise(rng, size, 0.3, 1.0, 0.0) * 20.0
    altered = texture + shift + grain
    return np.where(mask, altered, texture)


def _image_pair(class_id: int, defective: bool, rng: np.random.Generator, size: int):
    texture = _class_texture(class_id, rng, size)
    mask = _ellipse(rng, size) if defective else np.zeros((size, size), bool)
    image = _defective(texture, mask, rng, class_id) if defective else texture
    return np.clip(np.rint(image), 0, 255).astype(np.uint8), mask


def _write_split(folder: Path, class_id: int, ids: list[str], flags: list[bool], rng, size: int) -> None:
    labels = folder / "Label"
    labels.mkdir(parents=True, exist_ok=True)
    for image_id, defective in zip(ids, flags):
        image, mask = _image_pair(class_id, defective, rng, size)
        write_png(folder / f"{image_id}.PNG", image)
        if defective:
            write_png(labels / f"{image_id}_label.PNG", np.where(mask, 255, 0).astype(np.uint8))
    (labels / "Labels.txt").write_bytes(format_labels(list(zip(ids, flags))))


def _flags(count: int, fraction: float, rng: np.random.Generator) -> list[bool]:
    defective = int(round(count * fraction))
    flags = np.array([True] * defective + [False] * (count - defective))
    rng.shuffle(flags)
    return [bool(f) for f in flags]


def generate(spec: SyntheticDagmSpec, output: str | os.PathLike,
             progress: Callable[[str], None] | None = None) -> Path:
    """Write the dataset under `output` (atomically per class folder) and return the path.

    Test ids run 0001..N and Train ids continue after them, as in DAGM classes 1-6.
    """
    output = Path(output)
    output.mkdir(parents=True, exist_ok=True)
    for class_id in spec.class_ids:
        rng = np.random.default_rng([spec.seed, class_id])
        staging = Path(tempfile.mkdtemp(prefix=f".Class{class_id}-", dir=output))
        try:
            test_ids = [f"{i:04d}" for i in range(1, spec.test_images + 1)]
            train_ids = [f"{i:04d}" for i in range(spec.test_images + 1, spec.test_images + spec.train_images + 1)]
            for split, ids in (("Train", train_ids), ("Test", test_ids)):
                if progress:
                    progress(f"Class{class_id}/{split}: {len(ids)} images")
                _write_split(staging / split, class_id, ids,
                             _flags(len(ids), spec.defective_fraction, rng), rng, spec.image_size)
            final = output / f"Class{class_id}"
            if final.exists():
                shutil.rmtree(final)
            os.replace(staging, final)
        finally:
            if staging.exists():
                shutil.rmtree(staging, ignore_errors=True)
    (output / MARKER).write_text(json.dumps(spec.as_dict(), sort_keys=True))
    return output


def is_generated(spec: SyntheticDagmSpec, output: str | os.PathLike) -> bool:
    """True when `output` holds a complete dataset generated with exactly this spec."""
    marker = Path(output) / MARKER
    try:
        return json.loads(marker.read_text()) == spec.as_dict()
    except (OSError, ValueError):
        return False


def ensure_generated(spec: SyntheticDagmSpec, output: str | os.PathLike,
                     progress: Callable[[str], None] | None = None) -> bool:
    """Generate unless already there (cached); returns True when it generated."""
    if is_generated(spec, output):
        return False
    generate(spec, output, progress)
    return True
