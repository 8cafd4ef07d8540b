"""COCO instance annotations (`CocoDataset`): one JSON of images, annotations and categories, as
CVAT, Roboflow, Label Studio and most tools export it.

A segmentation is polygons (domain.annotations rasterizes them), or an RLE, uncompressed
(`counts` a list) or compressed (a string), decoded by pycocotools; an annotation with a box
only (CVAT's boxes) is its box. `iscrowd` regions are defect pixels like any other. An image
listed with no annotation is a good part; image files the JSON does not list are not read.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from unet_defects.adapters.datasets.annotations.files import (
    IMAGES_FOLDER,
    ImageFinder,
    checked_size,
    load_json,
    number,
    size_of,
)
from unet_defects.domain import rle
from unet_defects.domain.annotations import AnnotatedImage, AnnotationSet, Shape, rectangle
from unet_defects.domain.errors import DataError

COCO_KEYS = ("images", "annotations", "categories")


def is_coco(value: Any) -> bool:
    return isinstance(value, dict) and all(key in value for key in COCO_KEYS)


def locate_coco(folder: Path, parsed: dict[Path, Any] | None = None) -> tuple[Path, dict] | None:
    """The one COCO JSON of `folder` (in it or in its annotations/ folder) and its content; None
    when there is none."""
    candidates = sorted([*folder.glob("*.json"), *(folder / "annotations").glob("*.json")])
    found = [(path, document) for path in candidates if is_coco(document := load_json(path, parsed))]
    if len(found) > 1:
        raise DataError(f"{folder}: two COCO annotation files, {found[0][0].name} and {found[1][0].name}; keep one "
                        "per folder")
    return found[0] if found else None


def _list(document: dict, key: str, path: Path) -> list:
    value = document[key]
    if not isinstance(value, list) or not all(isinstance(entry, dict) for entry in value):
        raise DataError(f"{path}: '{key}' must be a list of objects")
    return value


def _rle_runs(segmentation: dict, size: tuple[int, int], where: str) -> str:
    from pycocotools import mask as coco_mask

    given = segmentation.get("size")
    if not (isinstance(given, list) and len(given) == 2) or "counts" not in segmentation:
        raise DataError(f"{where}: an RLE segmentation needs 'size' [height, width] and 'counts'")
    if tuple(given) != size:
        raise DataError(f"{where}: its RLE is {given[1]}x{given[0]} but its image is {size[1]}x{size[0]}")
    counts = segmentation["counts"]
    try:
        if isinstance(counts, list):  # uncompressed: pycocotools compresses it first
            if not all(isinstance(c, int) and c >= 0 for c in counts) or sum(counts) != size[0] * size[1]:
                raise DataError(f"{where}: its RLE counts are not whole numbers summing to the {size[0] * size[1]} "
                                f"pixels of {size[1]}x{size[0]}")
            encoded = coco_mask.frPyObjects(segmentation, *size)
        elif isinstance(counts, str):
            encoded = {"size": list(size), "counts": counts.encode("ascii")}
        else:
            raise DataError(f"{where}: RLE 'counts' must be a list or a string")
        mask = np.asarray(coco_mask.decode(encoded), dtype=np.uint8)
    except (TypeError, ValueError, UnicodeEncodeError) as error:
        raise DataError(f"{where}: cannot decode its RLE ({error})") from None
    # pycocotools decodes a compressed string whose runs stop short of the image's pixels from
    # memory it never wrote: stray values, or defect pixels the runs do not count.
    if mask.max(initial=0) > 1 or int(coco_mask.area(encoded)) != int(mask.sum()):
        raise DataError(f"{where}: its RLE does not describe the {size[1]}x{size[0]} pixels of its image")
    return rle.encode(mask.astype(bool))


def _shapes(annotation: dict, category: str, size: tuple[int, int], where: str) -> list[Shape]:
    segmentation = annotation.get("segmentation")
    if isinstance(segmentation, dict):
        return [Shape(category, where, runs=_rle_runs(segmentation, size, where))]
    if isinstance(segmentation, list) and segmentation:
        shapes = []
        for index, flat in enumerate(segmentation):
            part = f"{where} polygon {index}"
            if not isinstance(flat, list) or len(flat) % 2:
                raise DataError(f"{part}: a polygon is a flat list of x, y pairs")
            values = [number(v, part, "a coordinate") for v in flat]
            shapes.append(Shape(category, part, polygon=tuple(zip(values[0::2], values[1::2]))))
        return shapes
    box = annotation.get("bbox")
    if isinstance(box, list) and len(box) == 4:  # a box only (CVAT exports its boxes so)
        x, y, w, h = (number(v, where, "bbox") for v in box)
        return [Shape(category, where, polygon=rectangle(x, y, x + w, y + h))]
    raise DataError(f"{where}: no segmentation (polygons or RLE) and no bbox")


def read_coco(folder: Path, located: tuple[Path, dict] | None = None) -> AnnotationSet:
    """The images and categories of the COCO file of `folder` (`located`: the file and its content,
    when a search found them); its images are found beside the file, in images/ beside it, in
    `folder` or in folder/images/."""
    located = located or locate_coco(folder)
    if located is None:
        raise DataError(f"{folder}: no COCO annotation file (a .json with images, annotations and categories, in "
                        "the folder or its annotations/ folder)")
    path, document = located
    categories: dict[Any, str] = {}
    for entry in _list(document, "categories", path):
        where = f"{path}: category {entry.get('id')!r}"
        if "id" not in entry or not isinstance(entry.get("name"), str) or not entry["name"].strip():
            raise DataError(f"{where}: a category needs an id and a name")
        if entry["id"] in categories:
            raise DataError(f"{where}: the id is given twice")
        categories[entry["id"]] = entry["name"]
    finder = ImageFinder([path.parent, path.parent / IMAGES_FOLDER, folder, folder / IMAGES_FOLDER])
    listed: dict[Any, tuple[Path, tuple[int, int], str]] = {}
    for entry in _list(document, "images", path):
        where = f"{path}: image {entry.get('id')!r}"
        if "id" not in entry or not isinstance(entry.get("file_name"), str):
            raise DataError(f"{where}: an image needs an id and a file_name")
        if entry["id"] in listed:
            raise DataError(f"{where}: the id is given twice")
        image = finder.find(entry["file_name"], where)
        listed[entry["id"]] = (image, checked_size(image, size_of(entry.get("height"), entry.get("width"), where),
                                                   where), where)
    shapes: dict[Any, list[Shape]] = {image_id: [] for image_id in listed}
    for entry in _list(document, "annotations", path):
        where = f"{path}: annotation {entry.get('id')!r}"
        if entry.get("image_id") not in listed:
            raise DataError(f"{where}: image_id {entry.get('image_id')!r} is no image of the file")
        if entry.get("category_id") not in categories:
            raise DataError(f"{where}: category_id {entry.get('category_id')!r} is no category of the file")
        size = listed[entry["image_id"]][1]
        shapes[entry["image_id"]] += _shapes(entry, categories[entry["category_id"]], size, where)
    images = tuple(AnnotatedImage(image, size, tuple(shapes[image_id]), where)
                   for image_id, (image, size, where) in listed.items())
    return AnnotationSet(images, tuple(dict.fromkeys(categories.values())), str(path))
