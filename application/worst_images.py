"""The images an evaluation got most wrong, kept in one pass over any number of images: the
lowest per-image defect Dice (missed defects and wrong outlines) and the good parts the model
scores highest (the false alarms a line would see first). Pictures are built only for the
images that enter a list, and shrunk so that a mosaic stays small however large the images."""

from __future__ import annotations

import heapq
from collections.abc import Callable, Sequence

import attrs
import numpy as np

from unet_defects.application.values import SamplePicture, built_once

WORST_IMAGES = 8  # per list: two rows of a mosaic
TILE_SIDE = 320  # the longest side a tile keeps (and a mosaic shows), in pixels


@attrs.frozen(eq=False)
class Tile:
    """One image of a mosaic: the picture (shrunk), the figure it was chosen by and its name."""

    picture: SamplePicture
    figure: float
    name: str
    flagged: bool | None = None  # a good part's verdict (the false alarms' list), else None


def shrunk(picture: SamplePicture, side: int = TILE_SIDE) -> SamplePicture:
    """The picture with its longest side at most `side`: the image subsampled, each mask kept
    where any pixel of the block it stands for is set, so a thin defect keeps its outline."""
    step = -(-max(picture.image.shape[:2]) // side)
    if step <= 1:
        return picture

    def pooled(mask: np.ndarray) -> np.ndarray:
        height, width = -(-mask.shape[0] // step) * step, -(-mask.shape[1] // step) * step
        padded = np.zeros((height, width), bool)
        padded[:mask.shape[0], :mask.shape[1]] = mask
        return np.asarray(padded.reshape(height // step, step, width // step, step).any(axis=(1, 3)))

    # a copy, not a view: a view would keep the full-size image alive as long as the tile
    return SamplePicture(index=picture.index, image=np.ascontiguousarray(picture.image[::step, ::step]),
                         truth=pooled(picture.truth),
                         prediction=pooled(picture.prediction))


Key = tuple[float, ...]


class _Kept:
    """The `size` entries with the highest key; a picture is built only when its entry gets in."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._heap: list[tuple[Key, int, float, bool | None, SamplePicture]] = []

    def offer(self, key: Key, index: int, figure: float, picture: Callable[[], SamplePicture],
              flagged: bool | None = None) -> None:
        entry = (key, -index)  # on equal keys the earlier image stays
        if len(self._heap) < self._size:
            heapq.heappush(self._heap, (*entry, figure, flagged, shrunk(picture())))
        elif entry > self._heap[0][:2]:
            heapq.heapreplace(self._heap, (*entry, figure, flagged, shrunk(picture())))

    def tiles(self, names: Sequence[str]) -> tuple[Tile, ...]:
        ordered = sorted(self._heap, key=lambda item: (item[0], item[1]), reverse=True)
        return tuple(Tile(picture, figure, _name(names, picture.index), flagged)
                     for _, _, figure, flagged, picture in ordered)


def _name(names: Sequence[str], index: int) -> str:
    return names[index] if index < len(names) else f"image {index}"


class WorstImages:
    """The WORST_IMAGES defective parts segmented worst (the lowest defect Dice, and among equal
    Dice the most pixels wrong: a large missed defect before a small one) and the WORST_IMAGES
    good parts scored highest (the false alarms a line sees first, flagged or not)."""

    def __init__(self, size: int = WORST_IMAGES) -> None:
        self._dice = _Kept(size)
        self._alarms = _Kept(size)

    def offer(self, index: int, dice: float, wrong_pixels: int, score: float | None, defective: bool,
              flagged: bool, picture: Callable[[], SamplePicture]) -> None:
        once = built_once(picture)  # one image may enter both lists
        if defective and dice < 1.0:
            self._dice.offer((-dice, float(wrong_pixels)), index, dice, once)
        elif not defective and score is not None:
            self._alarms.offer((score,), index, score, once, flagged)

    def by_dice(self, names: Sequence[str]) -> tuple[Tile, ...]:
        return self._dice.tiles(names)

    def false_alarms(self, names: Sequence[str]) -> tuple[Tile, ...]:
        return self._alarms.tiles(names)
