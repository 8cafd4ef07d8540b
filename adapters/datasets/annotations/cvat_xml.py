"""CVAT (`CvatDataset`): its "CVAT for images 1.1" export, `annotations.xml` (or the folder's one
.xml whose root is <annotations>), the images beside it or in its images/ folder.

The categories are the labels <meta> declares (a task's, a project's or a job's), in that
order. Every <image> listed is read, and one without shapes is a good part. Shapes: <polygon>,
<box> and <mask>; <polyline>, <points>, <tag>, skeletons and cuboids have no area of their own
and are left out; an <ellipse> is refused (convert it to a polygon or a mask in CVAT).

A box's rotation turns it clockwise (in image coordinates, y down) about its centre, in degrees,
as CVAT's own converters do. A mask is CVAT's RLE: run lengths over its `width` x `height` box at
(`left`, `top`), row by row, alternating background and defect, background first.
"""

from __future__ import annotations

import math
import xml.etree.ElementTree as ElementTree
from pathlib import Path

import numpy as np

from unet_defects.adapters.datasets.annotations.files import IMAGES_FOLDER, ImageFinder, checked_size, size_of
from unet_defects.domain import rle
from unet_defects.domain.annotations import AnnotatedImage, AnnotationSet, Shape, rectangle
from unet_defects.domain.errors import DataError

ROOT_TAG = "annotations"
DEFAULT_NAME = "annotations.xml"
LABEL_PATHS = ("task/labels/label", "project/labels/label", "job/labels/label")
WITHOUT_AREA = ("polyline", "points", "tag", "skeleton", "cuboid")


def parse(path: Path) -> ElementTree.Element:
    """The file's root element; one line naming the file, line and column when it does not parse."""
    try:
        return ElementTree.parse(path).getroot()
    except ElementTree.ParseError as error:
        line, column = error.position  # expat counts columns from 0, editors (and load_json) from 1
        reason = str(error).split(":", 1)[0]
        raise DataError(f"{path}: not valid XML (line {line}, column {column + 1}: {reason})") from None
    except OSError as error:
        raise DataError(f"{path}: cannot read ({error})") from None


def locate_cvat_file(folder: Path) -> tuple[Path, ElementTree.Element] | None:
    """The CVAT XML of `folder` and its root (annotations.xml, or the one .xml rooted in
    <annotations>); None when there is none."""
    default = folder / DEFAULT_NAME
    if default.is_file():
        root = parse(default)
        if root.tag != ROOT_TAG:
            raise DataError(f"{default}: its root is <{root.tag}>, not CVAT's <{ROOT_TAG}>")
        return default, root
    found = [(path, root) for path in sorted(folder.glob("*.xml")) if (root := parse(path)).tag == ROOT_TAG]
    if len(found) > 1:
        raise DataError(f"{folder}: two CVAT annotation files, {found[0][0].name} and {found[1][0].name}; keep one")
    return found[0] if found else None


def find_cvat_file(folder: Path, located: tuple[Path, ElementTree.Element] | None = None,
                   ) -> tuple[Path, ElementTree.Element]:
    located = located or locate_cvat_file(folder)
    if located is None:
        raise DataError(f"{folder}: no CVAT annotation file ({DEFAULT_NAME} or a .xml rooted in <{ROOT_TAG}>, as "
                        "CVAT for images 1.1 exports)")
    return located


def declared_labels(root: ElementTree.Element) -> tuple[str, ...]:
    """The label names of <meta>, in order (a skeleton's points, which name a <parent>, left out)."""
    meta = root.find("meta")
    labels = [label for found in LABEL_PATHS for label in meta.iterfind(found)] if meta is not None else []
    names = [(label.findtext("name") or "").strip() for label in labels if not (label.findtext("parent") or "").strip()]
    return tuple(dict.fromkeys(name for name in names if name))


def _float(element: ElementTree.Element, name: str, where: str, default: str | None = None) -> float:
    text = element.get(name, default)
    try:
        value = float(text or "")
    except ValueError:
        raise DataError(f"{where}: attribute {name}={text!r} is not a number") from None
    if not math.isfinite(value):
        raise DataError(f"{where}: attribute {name}={text!r} is not a finite number")
    return value


def _int(element: ElementTree.Element, name: str, where: str) -> int:
    value = _float(element, name, where)
    if value != int(value):
        raise DataError(f"{where}: attribute {name}={element.get(name)!r} is not a whole number")
    return int(value)


def _points(element: ElementTree.Element, where: str) -> tuple[tuple[float, float], ...]:
    text = element.get("points", "")
    try:
        pairs = [pair.split(",") for pair in text.split(";") if pair.strip()]
        return tuple((float(x), float(y)) for x, y in pairs)
    except ValueError:
        raise DataError(f"{where}: points={text[:60]!r} is not 'x1,y1;x2,y2;...'") from None


def _box(element: ElementTree.Element, where: str) -> tuple[tuple[float, float], ...]:
    x0, y0, x1, y1 = (_float(element, name, where) for name in ("xtl", "ytl", "xbr", "ybr"))
    corners = rectangle(x0, y0, x1, y1)
    angle = math.radians(_float(element, "rotation", where, "0"))
    if not angle:
        return corners
    cx, cy, cos, sin = (x0 + x1) / 2, (y0 + y1) / 2, math.cos(angle), math.sin(angle)
    return tuple((cx + (x - cx) * cos - (y - cy) * sin, cy + (x - cx) * sin + (y - cy) * cos) for x, y in corners)


def _mask(element: ElementTree.Element, size: tuple[int, int], where: str) -> str:
    left, top, width, height = (_int(element, name, where) for name in ("left", "top", "width", "height"))
    image_height, image_width = size
    if width < 1 or height < 1 or left < 0 or top < 0 or left + width > image_width or top + height > image_height:
        raise DataError(f"{where}: its mask box {width}x{height} at ({left}, {top}) is outside the "
                        f"{image_width}x{image_height} image")
    text = element.get("rle", "")
    try:
        runs = np.array([int(token) for token in text.split(",") if token.strip()], dtype=np.int64)
    except ValueError:
        raise DataError(f"{where}: rle={text[:60]!r} is not comma-separated run lengths") from None
    if (runs < 0).any():
        raise DataError(f"{where}: its rle has a negative run length")
    if runs.sum() != width * height:
        raise DataError(f"{where}: its rle runs sum to {runs.sum()}, not the {width * height} pixels of its "
                        f"{width}x{height} box")
    box = np.repeat(np.arange(len(runs)) % 2 == 1, runs).reshape(height, width)  # background runs first
    full = np.zeros(size, dtype=bool)
    full[top:top + height, left:left + width] = box
    return rle.encode(full)


def _shape(element: ElementTree.Element, categories: tuple[str, ...], size: tuple[int, int],
           where: str) -> Shape | None:
    if element.tag in WITHOUT_AREA:
        return None
    label = element.get("label", "")
    if element.tag not in ("polygon", "box", "mask", "ellipse"):
        raise DataError(f"{where}: unknown shape <{element.tag}>")
    if label not in categories:
        raise DataError(f"{where}: unknown category {label!r} (its <meta> declares "
                        f"{', '.join(categories) or 'no label'})")
    if element.tag == "polygon":
        return Shape(label, where, polygon=_points(element, where))
    if element.tag == "box":
        return Shape(label, where, polygon=_box(element, where))
    if element.tag == "mask":
        return Shape(label, where, runs=_mask(element, size, where))
    raise DataError(f"{where}: ellipses are not read; convert them to polygons or masks in CVAT")


def _image(element: ElementTree.Element, path: Path, categories: tuple[str, ...],
           finder: ImageFinder) -> AnnotatedImage:
    name = element.get("name")
    where = f"{path}: image {element.get('id')} ({name})"
    if not name:
        raise DataError(f"{where}: an <image> needs a name")
    size = size_of(_float(element, "height", where), _float(element, "width", where), where)
    image = finder.find(name, where)
    checked_size(image, size, where)
    shapes = [_shape(child, categories, size, f"{where} {child.tag} {index}") for index, child in enumerate(element)]
    return AnnotatedImage(image, size, tuple(s for s in shapes if s is not None), where)


def read_cvat_xml(folder: Path, located: tuple[Path, ElementTree.Element] | None = None) -> AnnotationSet:
    """The images of the CVAT XML of `folder` and the labels its <meta> declares."""
    path, root = find_cvat_file(folder, located)
    categories = declared_labels(root)
    finder = ImageFinder([path.parent, path.parent / IMAGES_FOLDER, folder, folder / IMAGES_FOLDER])
    images = tuple(_image(element, path, categories, finder) for element in root.iterfind("image"))
    return AnnotationSet(images, categories, str(path))
