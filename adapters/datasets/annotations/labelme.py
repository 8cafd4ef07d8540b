"""LabelMe (`LabelMeDataset`): each image and a `.json` of the same stem beside it, as LabelMe
saves them, in the folder or its images/ folder.

Shapes: polygons, rectangles (two corners), circles (the centre and a point on the circle) and
LabelMe's masks (a PNG of the box between two corners, `mask[y1:y2+1, x1:x2+1]` as LabelMe
places it); lines and points have no area and are left out. An image without a JSON is a good
part, and so is a JSON without shapes. The label of a shape is its category; categories come in
the order first drawn, file by file.
"""

from __future__ import annotations

import base64
import io
from pathlib import Path
from typing import Any

import numpy as np

from unet_defects.adapters.datasets.annotations.files import (
    IMAGES_FOLDER,
    checked_size,
    image_files,
    load_json,
    number,
    size_of,
)
from unet_defects.domain import rle
from unet_defects.domain.annotations import AnnotatedImage, AnnotationSet, Shape, category_order, circle, rectangle
from unet_defects.domain.errors import DataError

WITHOUT_AREA = ("line", "linestrip", "point", "points")


def labelme_folder(folder: Path) -> Path:
    """Where the images and their JSONs are: `folder`, or its images/ folder."""
    return folder / IMAGES_FOLDER if not image_files(folder) and image_files(folder / IMAGES_FOLDER) else folder


def _points(shape: dict, where: str) -> list[tuple[float, float]]:
    points = shape.get("points")
    if not isinstance(points, list) or not all(isinstance(p, list) and len(p) == 2 for p in points):
        raise DataError(f"{where}: 'points' must be a list of [x, y]")
    return [(number(x, where, "x"), number(y, where, "y")) for x, y in points]


def _mask_runs(shape: dict, points: list[tuple[float, float]], size: tuple[int, int], where: str) -> str:
    import imageio.v3 as iio

    if len(points) != 2 or not isinstance(shape.get("mask"), str):
        raise DataError(f"{where}: a mask shape needs two corner points and a base64 PNG 'mask'")
    try:
        crop = iio.imread(io.BytesIO(base64.b64decode(shape["mask"], validate=True)))
    except Exception as error:  # binascii, imageio and Pillow each raise their own
        raise DataError(f"{where}: its mask is not a base64 PNG ({error})") from None
    crop = (crop[..., 0] if crop.ndim == 3 else crop).astype(bool)
    (x1, y1), (x2, y2) = ((int(x), int(y)) for x, y in points)
    height, width = size
    if not (0 <= x1 <= x2 < width and 0 <= y1 <= y2 < height):
        raise DataError(f"{where}: its mask box ({x1}, {y1})-({x2}, {y2}) is outside the {width}x{height} image")
    if crop.shape != (y2 - y1 + 1, x2 - x1 + 1):
        raise DataError(f"{where}: its mask is {crop.shape[1]}x{crop.shape[0]} but its box is "
                        f"{x2 - x1 + 1}x{y2 - y1 + 1}")
    full = np.zeros(size, dtype=bool)
    full[y1:y2 + 1, x1:x2 + 1] = crop
    return rle.encode(full)


def _shape(shape: Any, size: tuple[int, int], where: str) -> Shape | None:
    if not isinstance(shape, dict) or not isinstance(shape.get("label"), str) or not shape["label"].strip():
        raise DataError(f"{where}: a shape needs a 'label'")
    kind = shape.get("shape_type") or "polygon"
    points = _points(shape, where)
    label = shape["label"]
    if kind == "polygon":
        return Shape(label, where, polygon=tuple(points))
    if kind == "rectangle":
        if len(points) != 2:
            raise DataError(f"{where}: a rectangle needs 2 points, got {len(points)}")
        return Shape(label, where, polygon=rectangle(*points[0], *points[1]))
    if kind == "circle":
        if len(points) != 2:
            raise DataError(f"{where}: a circle needs its centre and a point on it, got {len(points)} points")
        (cx, cy), (px, py) = points
        return Shape(label, where, polygon=circle(cx, cy, float(np.hypot(px - cx, py - cy))))
    if kind == "mask":
        return Shape(label, where, runs=_mask_runs(shape, points, size, where))
    if kind in WITHOUT_AREA:
        return None
    raise DataError(f"{where}: unknown shape_type {kind!r}")


def _annotated(image: Path, path: Path) -> AnnotatedImage:
    document = load_json(path)
    if not isinstance(document, dict) or not isinstance(document.get("shapes"), list):
        raise DataError(f"{path}: not a LabelMe file (no 'shapes' list)")
    size = checked_size(image, size_of(document.get("imageHeight"), document.get("imageWidth"), str(path)), str(path))
    shapes = [_shape(shape, size, f"{path}: shape {index}") for index, shape in enumerate(document["shapes"])]
    return AnnotatedImage(image, size, tuple(s for s in shapes if s is not None), str(path))


def read_labelme(folder: Path) -> AnnotationSet:
    where = labelme_folder(folder)
    images = image_files(where)
    if not images:
        raise DataError(f"{folder}: no image files (LabelMeDataset reads images and their .json in the folder or its "
                        "images/ folder)")
    stems: dict[str, Path] = {}
    for image in images:
        if image.stem in stems:
            raise DataError(f"{image}: two images share the stem {image.stem!r} ({stems[image.stem].name})")
        stems[image.stem] = image
    orphans = sorted(path for path in where.glob("*.json") if path.stem not in stems)
    if orphans:
        raise DataError(f"{orphans[0]}: a LabelMe file with no image of the same stem in {where}")
    annotated = []
    for stem, image in stems.items():
        path = where / f"{stem}.json"
        annotated.append(_annotated(image, path) if path.is_file() else AnnotatedImage(image, None, (), str(image)))
    categories = category_order([shape.category for item in annotated for shape in item.shapes])
    return AnnotationSet(tuple(annotated), categories, str(where))

