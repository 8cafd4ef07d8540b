"""Annotations as labelling tools write them (polygons, masks), framework-agnostic: what every
format reader (COCO, LabelMe, Label Studio, CVAT) produces, and how its shapes become the
per-class masks training learns.

Coordinates are continuous image coordinates, as COCO, LabelMe, Label Studio and CVAT draw:
pixel (row i, column j) is the square [j, j + 1) x [i, i + 1). A pixel belongs to a polygon when
its centre (j + 0.5, i + 0.5) lies inside it (even-odd rule). pycocotools' own rasterizer
approximates the same rule and differs from it on a few boundary pixels; one rule for every
format keeps a mask independent of the tool that drew it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import attrs
import numpy as np

from unet_defects.domain import rle
from unet_defects.domain.errors import ConfigError, DataError

# A vertex may lie this far outside the image (tools snap to the border and round past it);
# farther, the polygon is a mistake and named.
OUTSIDE_TOLERANCE = 0.5


@attrs.frozen
class Shape:
    """One drawn defect: a polygon's (x, y) vertices, or a mask as an RLE string of the
    image's size (domain.rle: column-major, 1-based starts)."""

    category: str
    where: str  # the file and the entry, for errors
    polygon: tuple[tuple[float, float], ...] = ()
    runs: str | None = None


@attrs.frozen
class AnnotatedImage:
    """An image and what its annotation says about it: its size and its shapes (none: a good part)."""

    image: Path
    size: tuple[int, int] | None  # (height, width), as the annotation gives it (None: none, no shape)
    shapes: tuple[Shape, ...]
    where: str  # the file and the entry


@attrs.frozen
class AnnotationSet:
    """What one annotation file (or folder of them) says: its images and its categories, in
    the format's own stable order (COCO's and CVAT's as declared, others as first drawn)."""

    images: tuple[AnnotatedImage, ...]
    categories: tuple[str, ...]
    source: str  # the file or folder read, for messages


def rectangle(x0: float, y0: float, x1: float, y1: float) -> tuple[tuple[float, float], ...]:
    """The polygon of a box given by two corners."""
    left, right, top, bottom = min(x0, x1), max(x0, x1), min(y0, y1), max(y0, y1)
    return ((left, top), (right, top), (right, bottom), (left, bottom))


def circle(cx: float, cy: float, radius: float, vertices: int = 64) -> tuple[tuple[float, float], ...]:
    """A circle as a polygon of `vertices` corners (a pixel's centre is inside within 1/500 of the radius)."""
    angles = np.linspace(0.0, 2 * np.pi, vertices, endpoint=False)
    return tuple((float(cx + radius * np.cos(a)), float(cy + radius * np.sin(a))) for a in angles)


def check_polygon(points: Sequence[tuple[float, float]], size: tuple[int, int], where: str) -> None:
    """At least three vertices, each inside the image (within OUTSIDE_TOLERANCE)."""
    if len(points) < 3:
        raise DataError(f"{where}: a polygon needs at least 3 points, got {len(points)}")
    height, width = size
    for x, y in points:
        if not (np.isfinite(x) and np.isfinite(y)):
            raise DataError(f"{where}: vertex ({x}, {y}) is not a number")
        if not (-OUTSIDE_TOLERANCE <= x <= width + OUTSIDE_TOLERANCE
                and -OUTSIDE_TOLERANCE <= y <= height + OUTSIDE_TOLERANCE):
            raise DataError(f"{where}: vertex ({x:g}, {y:g}) is outside the {width}x{height} image")


def polygon_mask(points: Sequence[tuple[float, float]], size: tuple[int, int]) -> np.ndarray:
    """The (height, width) boolean mask of the pixels whose centre is inside the polygon
    (even-odd rule), row by row: the crossings of each row's centre line with the edges."""
    height, width = size
    mask = np.zeros(size, dtype=bool)
    vertices = np.asarray(points, dtype=np.float64)
    x0, y0 = vertices[:, 0], vertices[:, 1]
    x1, y1 = np.roll(x0, -1), np.roll(y0, -1)
    top, bottom = max(0, int(np.floor(y0.min() - 0.5))), min(height, int(np.ceil(y0.max() + 0.5)))
    centres = np.arange(width) + 0.5
    for row in range(top, bottom):
        y = row + 0.5
        crossing = (y0 <= y) != (y1 <= y)  # half-open: a vertex on the line counts once
        if not crossing.any():
            continue
        xs = x0[crossing] + (y - y0[crossing]) * (x1[crossing] - x0[crossing]) / (y1[crossing] - y0[crossing])
        # a centre is inside when an odd number of crossings lie to its right
        mask[row] = (np.searchsorted(np.sort(xs), centres, side="right") % 2) == 1
    return mask


def shape_mask(shape: Shape, size: tuple[int, int]) -> np.ndarray:
    if shape.runs is not None:
        return rle.decode(shape.runs, size)
    check_polygon(shape.polygon, size, shape.where)
    return polygon_mask(shape.polygon, size)


@attrs.frozen
class ClassChoice:
    """Which channel each category of a dataset feeds (a category absent from it is left out)."""

    channels: Mapping[str, int]
    count: int  # the channels: one (every category a defect) or one per defect_class_names entry
    ignored: tuple[str, ...]  # the categories no class takes


def choose_classes(categories: Sequence[str], names: Sequence[str] | None,
                   category_map: Mapping[str, str] | None, where: str, every_name: bool = True) -> ClassChoice:
    """The categories' channels. `category_map` renames categories first (several to one name
    merges them); `names` (train_input.defect_class_names) then selects and orders the classes;
    without names every category is one defect class. `every_name`: a name no category has is
    refused (in training annotations; a test folder may lack a rare class)."""
    mapping = dict(category_map or {})
    unknown = sorted(set(mapping) - set(categories))
    if unknown and every_name:
        raise ConfigError(f"train_input.category_map: {unknown[0]!r} is no category of {where} "
                          f"(its categories: {', '.join(categories) or 'none'})")
    renamed = {category: mapping.get(category, category) for category in categories}
    if names is None:
        return ClassChoice({category: 0 for category in categories}, 1, ())
    missing = [name for name in names if name not in renamed.values()]
    if missing and every_name:
        raise ConfigError(f"train_input.defect_class_names: {missing[0]!r} is no category of {where} "
                          f"(its categories: {', '.join(sorted(set(renamed.values()))) or 'none'})")
    channels = {category: list(names).index(name) for category, name in renamed.items() if name in names}
    return ClassChoice(channels, len(names), tuple(c for c in categories if c not in channels))


def class_names_of(categories: Sequence[str], category_map: Mapping[str, str] | None) -> tuple[str, ...]:
    """The class names the categories become under `category_map`, once each, in their order."""
    return category_order([(category_map or {}).get(category, category) for category in categories])


def class_runs(annotated: AnnotatedImage, choice: ClassChoice) -> tuple[str, ...]:
    """One RLE string per class channel: the union of the shapes of its categories."""
    if not annotated.shapes:
        return ("",) * choice.count
    if annotated.size is None:
        raise DataError(f"{annotated.where}: shapes but no image size")
    size = annotated.size
    masks: dict[int, np.ndarray] = {}
    for shape in annotated.shapes:
        channel = choice.channels.get(shape.category)
        if channel is None:
            continue
        drawn = shape_mask(shape, size)
        masks[channel] = drawn if channel not in masks else masks[channel] | drawn
    return tuple(rle.encode(masks[k]) if k in masks else "" for k in range(choice.count))


def category_order(found: Sequence[str]) -> tuple[str, ...]:
    """Category names once each, in the order first given."""
    return tuple(dict.fromkeys(found))
