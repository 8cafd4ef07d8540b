"""Prediction geometry: how an image of any size reaches a fully convolutional UNet.

`resize` squashes every image to the training size and the probabilities back (what a model
trained on resized images expects). `native` keeps the pixel scale: the image is padded by
mirroring up to a multiple of the network's stride, and when it is larger than the tile it
is cut into overlapping tiles whose predictions are blended with weights that fall off
linearly across the overlap, so seams do not show.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import ClassVar

import attrs
import numpy as np

from domain.errors import ConfigError
from domain.validation import fail, int_at_least, one_of

GEOMETRIES = ("resize", "native")


def _positive_pair(instance, attribute, value) -> None:
    if (not isinstance(value, tuple) or len(value) != 2
            or not all(isinstance(side, int) and side > 0 for side in value)):
        fail(instance, attribute, f"expected two positive integers (height, width), got {value!r}")


@attrs.frozen(kw_only=True)
class PredictGeometry:
    SECTION: ClassVar[str] = "predict"

    mode: str = attrs.field(default="resize", validator=one_of(GEOMETRIES))
    tile: tuple[int, int] = attrs.field(converter=tuple, validator=_positive_pair)
    overlap: int = attrs.field(default=32, validator=int_at_least(0))
    stride: int = attrs.field(default=16, validator=int_at_least(1))

    def __attrs_post_init__(self) -> None:
        for side in self.tile:
            if side % self.stride:
                raise ConfigError(f"predict.tile: {side} is not a multiple of the network's stride {self.stride}")
            if self.overlap >= side:
                raise ConfigError(f"predict.overlap: {self.overlap} must be smaller than the tile side {side}")


def mode_for_fit(image_fit: str) -> str:
    """The geometry a model expects: crops were taken at native scale, resized images were not."""
    return "native" if image_fit == "crop" else "resize"


def tile_origins(length: int, tile: int, overlap: int) -> list[int]:
    """Starts of tiles of `tile` pixels covering 0..length, consecutive ones sharing at least
    `overlap` pixels; the last tile ends exactly at `length`."""
    if length <= tile:
        return [0]
    step = tile - overlap
    count = math.ceil((length - tile) / step) + 1
    return sorted({min(index * step, length - tile) for index in range(count)})


def _ramp(length: int, overlap: int) -> np.ndarray:
    """1 in the middle, falling linearly to 1/(overlap+1) at both ends over `overlap` pixels."""
    index = np.arange(length, dtype=np.float32)
    rise = (np.minimum(index, length - 1 - index) + 1) / np.float32(overlap + 1)
    return np.minimum(rise, 1.0).astype(np.float32)


@attrs.frozen
class TilePlan:
    """Where the tiles of one image lie, and how to put their predictions back together."""

    height: int
    width: int
    padded: tuple[int, int]
    tile_shape: tuple[int, int]
    origins: tuple[tuple[int, int], ...]
    overlap: int

    @classmethod
    def for_image(cls, height: int, width: int, geometry: PredictGeometry) -> "TilePlan":
        stride = geometry.stride
        padded = (math.ceil(height / stride) * stride, math.ceil(width / stride) * stride)
        tile_shape = (min(padded[0], geometry.tile[0]), min(padded[1], geometry.tile[1]))
        rows = tile_origins(padded[0], tile_shape[0], geometry.overlap)
        columns = tile_origins(padded[1], tile_shape[1], geometry.overlap)
        origins = tuple((top, left) for top in rows for left in columns)
        return cls(height, width, padded, tile_shape, origins, geometry.overlap)

    def pad(self, image: np.ndarray) -> np.ndarray:
        """(H, W, C) mirrored at the bottom and right edges up to the padded size."""
        extra = ((0, self.padded[0] - self.height), (0, self.padded[1] - self.width), (0, 0))
        return np.pad(image, extra, mode="symmetric")

    def tiles(self, image: np.ndarray) -> Iterator[np.ndarray]:
        padded = self.pad(image)
        th, tw = self.tile_shape
        for top, left in self.origins:
            yield padded[top : top + th, left : left + tw]

    def weights(self) -> np.ndarray:
        th, tw = self.tile_shape
        return np.outer(_ramp(th, self.overlap), _ramp(tw, self.overlap))

    def stitch(self, predictions: list[np.ndarray]) -> np.ndarray:
        """Per-tile (th, tw) predictions blended into one (height, width) map."""
        if len(predictions) != len(self.origins):
            raise ValueError(f"expected {len(self.origins)} tile predictions, got {len(predictions)}")
        total = np.zeros(self.padded, np.float64)
        weight_sum = np.zeros(self.padded, np.float64)
        weights = self.weights()
        th, tw = self.tile_shape
        for (top, left), prediction in zip(self.origins, predictions):
            total[top : top + th, left : left + tw] += prediction * weights
            weight_sum[top : top + th, left : left + tw] += weights
        return (total / weight_sum)[: self.height, : self.width].astype(np.float32)
