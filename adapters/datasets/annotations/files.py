"""What every annotation format's reader does with files: parse a JSON file in one line's error,
find the image an entry names (beside the annotation file, in an images/ folder, or by its base
name, as tools export paths of the machine they ran on), and check the size the entry gives
against the image's header before any shape is drawn at that size."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path, PurePosixPath
from typing import Any

from unet_defects.adapters.image_headers import HeaderError, file_size
from unet_defects.adapters.images import IMAGE_SUFFIXES
from unet_defects.domain.errors import DataError

IMAGES_FOLDER = "images"
# Label Studio stores an upload as "<8 hex digits>-<the file's name>"
UPLOAD_PREFIX = re.compile(r"^[0-9a-f]{8}-", re.IGNORECASE)


def load_json(path: Path, parsed: dict[Path, Any] | None = None) -> Any:
    """The file's JSON value; one line naming the file, line and column when it does not parse.
    `parsed`: the files one search has parsed already (a file is parsed once however many
    formats look at it)."""
    if parsed is not None and path in parsed:
        return parsed[path]
    value = _parse_json(path)
    if parsed is not None:
        parsed[path] = value
    return value


def _parse_json(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as error:
        raise DataError(f"{path}: cannot read ({error})") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise DataError(f"{path}: not valid JSON (line {error.lineno}, column {error.colno}: {error.msg})") from None


def image_files(folder: Path) -> list[Path]:
    """The image files directly in `folder`, sorted."""
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)


class ImageFinder:
    """Finds the file an annotation names: the path as given under each base folder, then, as
    tools write paths of another machine (Label Studio's /data/upload/1/..., absolute paths),
    by its base name among the image files of the bases (unique names only)."""

    def __init__(self, bases: Sequence[Path]) -> None:
        self._bases = [base for base in dict.fromkeys(bases) if base.is_dir()]
        self._by_name: dict[str, list[Path]] | None = None

    def find(self, name: str, where: str, prefix_free: bool = False) -> Path:
        """The image `name`; `prefix_free`: also try the base name without Label Studio's upload
        prefix ("1a2b3c4d-part.png" -> "part.png"). A path that is absolute or climbs out
        (`..`) is looked up by its base name only: an annotation never reads outside the bases."""
        parts = PurePosixPath(name.replace("\\", "/")).parts
        if parts and not PurePosixPath(name.replace("\\", "/")).is_absolute() and ".." not in parts \
                and ":" not in parts[0]:
            for base in self._bases:
                candidate = base.joinpath(*parts)
                if candidate.is_file():
                    return candidate
        base_name = parts[-1] if parts else name
        names = [base_name]
        if prefix_free and UPLOAD_PREFIX.match(base_name):
            names.append(UPLOAD_PREFIX.sub("", base_name))
        for candidate_name in names:
            found = self._index().get(candidate_name, [])
            if len(found) == 1:
                return found[0]
            if len(found) > 1:
                raise DataError(f"{where}: image {name!r} matches {found[0]} and {found[1]}; keep one")
        folders = ", ".join(str(base) for base in self._bases) or "no folder"
        raise DataError(f"{where}: its image {name!r} is not found (looked in {folders})")

    def _index(self) -> dict[str, list[Path]]:
        if self._by_name is None:
            self._by_name = {}
            for base in self._bases:
                for path in [*image_files(base), *image_files(base / IMAGES_FOLDER)]:
                    if path not in self._by_name.get(path.name, []):
                        self._by_name.setdefault(path.name, []).append(path)
        return self._by_name


def number(value: Any, where: str, what: str) -> float:
    """A JSON number, or one line naming the entry."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise DataError(f"{where}: {what} must be a number, got {value!r}")
    return float(value)


def size_of(height: Any, width: Any, where: str) -> tuple[int, int]:
    """(height, width) from an entry's fields: positive integers."""
    h, w = number(height, where, "height"), number(width, where, "width")
    if h < 1 or w < 1 or h != int(h) or w != int(w):
        raise DataError(f"{where}: image size {width}x{height} is not a positive whole number of pixels")
    return int(h), int(w)


def header_size(path: Path, where: str) -> tuple[int, int]:
    """(height, width) from the image file's header."""
    try:
        return file_size(path)
    except (OSError, HeaderError) as error:
        raise DataError(f"{where}: cannot size its image {path} ({error})") from None


def checked_size(image: Path, size: tuple[int, int], where: str) -> tuple[int, int]:
    """The size an entry gives, when its image's header says the same: shapes are then drawn at
    the image's own size (a wrong size would number every pixel wrong), and never at a size the
    file does not have."""
    actual = header_size(image, where)
    if actual != size:
        raise DataError(f"{where}: gives its image {image.name} as {size[1]}x{size[0]}, but the file is "
                        f"{actual[1]}x{actual[0]}")
    return size
