"""Label Studio (`LabelStudioDataset`): its "JSON" export, a list of tasks, in the folder; the
images beside it or in its images/ folder, found by the task's URL's file name (an upload's
"1a2b3c4d-" prefix may be dropped).

A task's first annotation that is not cancelled is read (the others are reviews or second
opinions); a task without one is unlabelled and left out, not taken for a good part. A read
annotation without a region is a good part. Regions: polygons, rectangles and brush masks
(brush_rle), each label of a region its category; other results (choices, keypoints, ...) are
left out. Coordinates are percentages of the result's original_width/original_height, which is
the image's size (checked against its file's header).

A rectangle's rotation turns it clockwise about its top-left corner (x, y), in pixels, as
Label Studio draws it and label-studio-sdk's converters read it.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlparse

from unet_defects.adapters.datasets.annotations import brush_rle
from unet_defects.adapters.datasets.annotations.files import (
    IMAGES_FOLDER,
    ImageFinder,
    checked_size,
    load_json,
    number,
    size_of,
)
from unet_defects.domain import rle
from unet_defects.domain.annotations import AnnotatedImage, AnnotationSet, Shape, category_order
from unet_defects.domain.errors import DataError

REGION_TYPES = ("polygonlabels", "rectanglelabels", "brushlabels")


def is_export(value: Any) -> bool:
    return (isinstance(value, list) and bool(value)
            and all(isinstance(task, dict) and isinstance(task.get("data"), dict) for task in value))


def locate_export(folder: Path, parsed: dict[Path, Any] | None = None) -> tuple[Path, list[dict]] | None:
    """The one Label Studio JSON export of `folder` and its tasks; None when there is none."""
    found = [(path, document) for path in sorted(folder.glob("*.json")) if is_export(document := load_json(path, parsed))]
    if len(found) > 1:
        first, second = found[0][0].name, found[1][0].name
        raise DataError(f"{folder}: two Label Studio exports, {first} and {second}; keep one per folder")
    return found[0] if found else None


def find_export(folder: Path, located: tuple[Path, list[dict]] | None = None) -> tuple[Path, list[dict]]:
    located = located or locate_export(folder)
    if located is None:
        raise DataError(f"{folder}: no Label Studio export (a .json list of tasks, each with 'data', as its JSON "
                        "export writes)")
    return located


def image_name(data: dict, where: str) -> str:
    """The path a task's image URL names: an upload's, a local-files `?d=` path, or any URL's path."""
    url = data.get("image")
    if url is None:  # a config may name its image field otherwise: the task's one string then
        texts = [value for value in data.values() if isinstance(value, str)]
        url = texts[0] if len(texts) == 1 else None
    if not isinstance(url, str) or not url.strip():
        raise DataError(f"{where}: its data has no 'image' URL")
    parsed = urlparse(url)
    local = parse_qs(parsed.query).get("d")
    return unquote(local[0] if local else parsed.path or url)


def _labels(value: dict, kind: str, where: str) -> list[str]:
    labels = value.get(kind)
    if not isinstance(labels, list) or not labels or not all(isinstance(n, str) and n.strip() for n in labels):
        raise DataError(f"{where}: a region needs a list of label names in '{kind}'")
    return labels


def _outline(kind: str, value: dict, size: tuple[int, int], where: str) -> tuple[tuple[float, float], ...]:
    """A polygon's or a rectangle's vertices in pixels."""
    height, width = size
    if kind == "polygonlabels":
        points = value.get("points")
        if not isinstance(points, list) or not all(isinstance(p, list) and len(p) == 2 for p in points):
            raise DataError(f"{where}: 'points' must be a list of [x, y] percentages")
        return tuple((number(x, where, "x") * width / 100, number(y, where, "y") * height / 100) for x, y in points)
    x, y = number(value.get("x"), where, "x") * width / 100, number(value.get("y"), where, "y") * height / 100
    w = number(value.get("width"), where, "width") * width / 100
    h = number(value.get("height"), where, "height") * height / 100
    angle = math.radians(number(value.get("rotation", 0), where, "rotation"))
    cos, sin = math.cos(angle), math.sin(angle)
    # Label Studio's corners: the top-left one fixed, the sides turned clockwise on screen (y down).
    return ((x, y), (x + w * cos, y + w * sin), (x + w * cos - h * sin, y + w * sin + h * cos),
            (x - h * sin, y + h * cos))


def _brush(value: dict, size: tuple[int, int], where: str) -> str:
    if value.get("format", "rle") != "rle" or not isinstance(value.get("rle"), list):
        raise DataError(f"{where}: a brush region needs format 'rle' and an 'rle' list")
    try:
        mask = brush_rle.decode(value["rle"], *size)
    except ValueError as error:
        raise DataError(f"{where}: cannot decode its brush RLE ({error})") from None
    return rle.encode(mask)


def _region_size(regions: list[tuple[dict, str]]) -> tuple[int, int] | None:
    """The image's size the regions give (each the same), or None without regions."""
    size = None
    for result, where in regions:
        given = size_of(result.get("original_height"), result.get("original_width"), where)
        if size is not None and given != size:
            raise DataError(f"{where}: its image is {given[1]}x{given[0]} but an earlier result's is "
                            f"{size[1]}x{size[0]}")
        size = given
    return size


def _annotation(task: dict, where: str) -> dict | None:
    annotations = task.get("annotations", [])
    if not isinstance(annotations, list) or not all(isinstance(a, dict) for a in annotations):
        raise DataError(f"{where}: 'annotations' must be a list of objects")
    return next((a for a in annotations if not a.get("was_cancelled")), None)


def _task(task: dict, path: Path, finder: ImageFinder) -> AnnotatedImage | None:
    where = f"{path}: task {task.get('id')!r}"
    annotation = _annotation(task, where)
    if annotation is None:
        return None
    results = annotation.get("result", [])
    if not isinstance(results, list) or not all(isinstance(r, dict) for r in results):
        raise DataError(f"{where} annotation {annotation.get('id')!r}: 'result' must be a list of objects")
    regions = [(result, f"{where} result {result.get('id')!r}") for result in results
               if str(result.get("type", "")).lower() in REGION_TYPES]
    image = finder.find(image_name(task["data"], where), where, prefix_free=True)
    size = _region_size(regions)
    if size is None:  # no region: a good part, nothing drawn at any size
        return AnnotatedImage(image, None, (), where)
    checked_size(image, size, where)
    shapes = []
    for result, at in regions:
        kind, value = str(result["type"]).lower(), result.get("value")
        if not isinstance(value, dict):
            raise DataError(f"{at}: its 'value' must be an object")
        labels = _labels(value, kind, at)
        if kind == "brushlabels":
            runs = _brush(value, size, at)
            shapes += [Shape(label, at, runs=runs) for label in labels]
        else:
            outline = _outline(kind, value, size, at)
            shapes += [Shape(label, at, polygon=outline) for label in labels]
    return AnnotatedImage(image, size, tuple(shapes), where)


def read_label_studio(folder: Path, located: tuple[Path, list[dict]] | None = None) -> AnnotationSet:
    """The labelled tasks of the Label Studio export in `folder` and the label names drawn."""
    path, tasks = find_export(folder, located)
    finder = ImageFinder([folder, folder / IMAGES_FOLDER])
    read = [_task(task, path, finder) for task in tasks]
    images = tuple(item for item in read if item is not None)
    return AnnotationSet(images, category_order([s.category for item in images for s in item.shapes]), str(path))
