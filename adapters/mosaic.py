"""A mosaic of evaluation images, composed with numpy and lettered with Pillow: each tile the
image in gray, the truth outlined in green and the prediction in red, its file name and the
figure it was chosen by above it. (matplotlib would take ten times as long for the same tiles.)"""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from unet_defects.adapters.atomic_files import write_bytes
from unet_defects.application.worst_images import TILE_SIDE, Tile

TRUTH, PREDICTION, BOTH = (31, 191, 63), (232, 32, 42), (250, 210, 20)
COLUMNS = 4
TILE = TILE_SIDE  # the longest side of a tile's image, in pixels
LABEL = 40  # the band above each tile for its two lines
TITLE = 56  # the band above the mosaic
GAP = 10
FONT_SIZE = 15


def _font(size: int = FONT_SIZE) -> Any:
    from PIL import ImageFont

    return ImageFont.load_default(size=size)


def outline(mask: np.ndarray) -> np.ndarray:
    """The mask's border pixels (set, with an unset 4-neighbour or the image's edge), two wide."""
    padded = np.pad(mask, 1)
    inner = padded[1:-1, 1:-1] & padded[:-2, 1:-1] & padded[2:, 1:-1] & padded[1:-1, :-2] & padded[1:-1, 2:]
    border = mask & ~inner
    thick = border.copy()  # widened inwards by one pixel, so it stays visible on a busy texture
    thick[1:] |= border[:-1] & mask[1:]
    thick[:, 1:] |= border[:, :-1] & mask[:, 1:]
    return thick


def _scaled(array: np.ndarray, height: int, width: int) -> np.ndarray:
    """Nearest-neighbour resampling to (height, width) (masks stay masks, pixels stay sharp)."""
    rows = (np.arange(height) * array.shape[0] // height).clip(0, array.shape[0] - 1)
    columns = (np.arange(width) * array.shape[1] // width).clip(0, array.shape[1] - 1)
    return array[rows][:, columns]


def tile_picture(tile: Tile, side: int = TILE) -> np.ndarray:
    """(h, w, 3) uint8: the image at `side` on its longest side, its outlines drawn in."""
    picture = tile.picture
    height, width = picture.image.shape[:2]
    scale = side / max(height, width)
    size = (max(1, round(height * scale)), max(1, round(width * scale)))
    gray = _scaled(np.asarray(picture.image, np.uint8), *size)
    rgb = np.repeat(gray[..., None], 3, axis=2)
    truth = outline(_scaled(np.asarray(picture.truth, bool), *size))
    prediction = outline(_scaled(np.asarray(picture.prediction, bool), *size))
    rgb[truth] = TRUTH
    rgb[prediction] = PREDICTION
    rgb[truth & prediction] = BOTH
    return rgb


def draw_mosaic(tiles: Sequence[Tile], figure_name: str, title: str, path: Path) -> str:
    """The tiles in rows of COLUMNS under a title, written as PNG at `path`."""
    from PIL import Image, ImageDraw

    pictures = [tile_picture(tile) for tile in tiles]
    columns = max(1, min(len(tiles), COLUMNS))
    rows = max(1, -(-len(tiles) // columns))
    cell_height = max((p.shape[0] for p in pictures), default=0) + LABEL
    width = max(columns * (TILE + GAP) + GAP, 720)
    canvas = Image.new("RGB", (width, TITLE + rows * (cell_height + GAP)), "white")
    pen = ImageDraw.Draw(canvas)
    font = _font()
    pen.text((GAP, 8), title, fill="black", font=_font(FONT_SIZE + 3))
    if not tiles:
        pen.text((GAP, TITLE), "no image to show", fill="black", font=font)
    else:
        legend = [("truth", TRUTH), ("prediction", PREDICTION), ("both", BOTH)]
        x = GAP
        for label, colour in legend:
            pen.rectangle((x, 36, x + 12, 48), fill=colour)
            pen.text((x + 16, 33), label, fill="black", font=font)
            x += 30 + int(pen.textlength(label, font=font))
    for position, (tile, picture) in enumerate(zip(tiles, pictures)):
        left = GAP + (position % columns) * (TILE + GAP)
        top = TITLE + (position // columns) * (cell_height + GAP)
        name = tile.name if pen.textlength(tile.name, font=font) <= TILE else "..." + tile.name[-34:]
        pen.text((left, top + 2), name, fill="black", font=font)
        verdict = "" if tile.flagged is None else (", flagged" if tile.flagged else ", passed")
        pen.text((left, top + 20), f"{figure_name} {tile.figure:.3f}{verdict}", fill="black", font=font)
        canvas.paste(Image.fromarray(picture), (left, top + LABEL))
    encoded = io.BytesIO()
    canvas.save(encoded, format="PNG", compress_level=1)  # zlib's fastest: the figures' own choice
    return write_bytes(path, encoded.getvalue())
