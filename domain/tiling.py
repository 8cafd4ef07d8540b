"""Prediction geometry: how an image of any size reaches a fully convolutional UNet.

`resize` squashes every image to the training size and the probabilities back (what a model
trained on resized images expects). `native` keeps the pixel scale: the image is padded by
mirroring up to a multiple of the network's stride, and when it is larger than the tile it
is cut into overlapping tiles whose predictions are blended with weights that fall off
linearly across the overlap, so seams do not show.

A huge image is never padded or normalized whole: `TilePlan.tile` cuts one tile at a time from
the unpadded image, mirroring only the part of it past the edge, and a `TileBlender` sums the
weighted predictions into a float32 map of the image's own size as they arrive, computing the
weight sums from 1-D ramps; so blending costs 4 bytes per image pixel.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from typing import ClassVar

import attrs
import numpy as np

from unet_defects.domain.errors import ConfigError
from unet_defects.domain.validation import fail, int_at_least, one_of

GEOMETRIES = ("resize", "native")


def _as_tuple(sides: Iterable[int]) -> tuple[int, ...]:
    """PredictGeometry.tile's converter (a typed tuple); _positive_pair checks there are two."""
    return tuple(sides)


def _positive_pair(instance, attribute, value) -> None:
    if (not isinstance(value, tuple) or len(value) != 2
            or not all(isinstance(side, int) and side > 0 for side in value)):
        fail(instance, attribute, f"expected two positive integers (height, width), got {value!r}")


@attrs.frozen(kw_only=True)
class PredictGeometry:
    SECTION: ClassVar[str] = "predict"

    mode: str = attrs.field(default="resize", validator=one_of(GEOMETRIES))
    tile: tuple[int, int] = attrs.field(converter=_as_tuple, validator=_positive_pair)
    overlap: int = attrs.field(default=32, validator=int_at_least(0))
    stride: int = attrs.field(default=16, validator=int_at_least(1))

    def __attrs_post_init__(self) -> None:
        for side in self.tile:
            if side % self.stride:
                raise ConfigError(f"predict.tile: {side} is not a multiple of the network's stride {self.stride}")
            if self.overlap >= side:
                raise ConfigError(f"predict.overlap: {self.overlap} must be smaller than the tile side {side}")


def default_overlap(tile: tuple[int, int]) -> int:
    """Tiles overlap by an eighth of their shorter side, at most 32 pixels."""
    return min(32, min(tile) // 8)


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


def _mirrored(start: int, count: int, length: int) -> np.ndarray:
    """Indices of positions start..start+count of a line of `length` pixels extended past its
    end as np.pad's "symmetric" mode does, however far: the line, reversed, the line, ...
    (period 2 x length)."""
    index = np.arange(start, start + count) % (2 * length)
    return np.where(index < length, index, 2 * length - 1 - index)


def _ramp_sums(starts: list[int], ramp: np.ndarray, length: int) -> np.ndarray:
    """Along one axis, the sum of the 1-D ramps of the tiles starting at `starts`."""
    sums = np.zeros(max(length, max(starts) + len(ramp)), np.float64)
    for start in starts:
        sums[start : start + len(ramp)] += ramp
    return sums[:length]


def row_strips(height: int, width: int, pixels: int = 1 << 20) -> Iterator[slice]:
    """The rows of a (height, width) image in strips of about `pixels` pixels (at least a row),
    so work on a huge image can take a strip at a time."""
    rows = max(1, pixels // max(width, 1))
    for start in range(0, height, rows):
        yield slice(start, min(start + rows, height))


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
    def for_image(cls, height: int, width: int, geometry: PredictGeometry) -> TilePlan:
        stride = geometry.stride
        padded = (math.ceil(height / stride) * stride, math.ceil(width / stride) * stride)
        tile_shape = (min(padded[0], geometry.tile[0]), min(padded[1], geometry.tile[1]))
        rows = tile_origins(padded[0], tile_shape[0], geometry.overlap)
        columns = tile_origins(padded[1], tile_shape[1], geometry.overlap)
        origins = tuple((top, left) for top in rows for left in columns)
        return cls(height, width, padded, tile_shape, origins, geometry.overlap)

    def pad(self, image: np.ndarray) -> np.ndarray:
        """(H, W) or (H, W, C) mirrored at the bottom and right edges up to the padded size."""
        extra = ((0, self.padded[0] - self.height), (0, self.padded[1] - self.width))
        return np.pad(image, extra + ((0, 0),) * (image.ndim - 2), mode="symmetric")

    def tile(self, image: np.ndarray, index: int) -> np.ndarray:
        """The tile at origins[index] of the unpadded (H, W) or (H, W, C) `image`, equal to
        `pad(image)[top : top + th, left : left + tw]`: only its part past the bottom or right
        edge is mirrored. A view into `image` when the tile lies inside it, else a new array
        of the tile's size."""
        if image.shape[:2] != (self.height, self.width):
            raise ValueError(f"expected an image of {self.height}x{self.width} pixels, got shape {image.shape}")
        top, left = self.origins[index]
        th, tw = self.tile_shape
        if top + th <= self.height and left + tw <= self.width:
            return image[top : top + th, left : left + tw]
        return image[np.ix_(_mirrored(top, th, self.height), _mirrored(left, tw, self.width))]

    def tiles(self, image: np.ndarray) -> Iterator[np.ndarray]:
        for index in range(len(self.origins)):
            yield self.tile(image, index)

    def weights(self) -> np.ndarray:
        th, tw = self.tile_shape
        return np.outer(_ramp(th, self.overlap), _ramp(tw, self.overlap))

    def blender(self, classes: int = 1) -> TileBlender:
        return TileBlender(self, classes)

    def stitch(self, predictions: list[np.ndarray]) -> np.ndarray:
        """Per-tile (th, tw, K) predictions blended into one (height, width, K) map."""
        if len(predictions) != len(self.origins):
            raise ValueError(f"expected {len(self.origins)} tile predictions, got {len(predictions)}")
        blender = self.blender(np.shape(predictions[0])[-1] if predictions else 1)
        for index, prediction in enumerate(predictions):
            blender.add(index, prediction)
        return blender.result()


class TileBlender:
    """A plan's tile predictions blended into its (height, width) map as they arrive, in any
    order. The weighted predictions are summed in float32 over the image only (what falls in
    the padding is dropped on arrival). The weight sums are not stored: over the full grid of
    origins `for_image` makes they are the outer product of per-row and per-column sums of
    the 1-D ramps, so the blender holds 4 bytes per pixel (8 for a plan of other origins,
    which keeps a per-pixel weight sum). `result()` divides in place and hands the map over;
    the blender is spent after it."""

    def __init__(self, plan: TilePlan, classes: int = 1) -> None:
        """`classes`: K, the class channels of the (th, tw, K) predictions."""
        self._plan = plan
        self._classes = classes
        self._total: np.ndarray | None = np.zeros((plan.height, plan.width, classes), np.float32)
        self._arrived = np.zeros(len(plan.origins), bool)
        th, tw = plan.tile_shape
        self._weights = plan.weights()
        tops = sorted({top for top, _ in plan.origins})
        lefts = sorted({left for _, left in plan.origins})
        grid = len(set(plan.origins)) == len(plan.origins) == len(tops) * len(lefts)
        self._weight_sum = None if grid else np.zeros((plan.height, plan.width), np.float32)
        self._row_sums = _ramp_sums(tops, _ramp(th, plan.overlap), plan.height)
        self._column_sums = _ramp_sums(lefts, _ramp(tw, plan.overlap), plan.width)

    @property
    def complete(self) -> bool:
        """Whether every tile of the plan has been blended in."""
        return bool(self._arrived.all())

    def add(self, index: int, prediction: np.ndarray) -> None:
        """Blend in the (th, tw, K) prediction of the tile at origins[index]."""
        total = self._unspent()
        prediction = np.asarray(prediction)
        expected = (*self._plan.tile_shape, self._classes)
        if prediction.shape != expected:
            raise ValueError(f"tile {index}: expected a prediction of shape {expected}, got {prediction.shape}")
        if self._arrived[index]:
            raise ValueError(f"tile {index} was blended in already")
        top, left = self._plan.origins[index]
        height = max(0, min(self._plan.tile_shape[0], self._plan.height - top))
        width = max(0, min(self._plan.tile_shape[1], self._plan.width - left))
        weights = self._weights[:height, :width]
        total[top : top + height, left : left + width] += prediction[:height, :width] * weights[..., None]
        if self._weight_sum is not None:
            self._weight_sum[top : top + height, left : left + width] += weights
        self._arrived[index] = True

    def result(self) -> np.ndarray:
        """The (height, width, K) float32 blended map, once every tile is in. Spends the blender."""
        total = self._unspent()
        missing = int(np.count_nonzero(~self._arrived))
        if missing:
            raise ValueError(f"{missing} of {len(self._arrived)} tile predictions were not added")
        self._total = None
        for rows in row_strips(*total.shape[:2]):
            weights = (np.outer(self._row_sums[rows], self._column_sums) if self._weight_sum is None
                       else self._weight_sum[rows])
            total[rows] /= weights[..., None]
        self._weight_sum = None
        return total

    def _unspent(self) -> np.ndarray:
        if self._total is None:
            raise RuntimeError("this blender's result was taken already; blend into a new one")
        return self._total
