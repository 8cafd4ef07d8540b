"""Severstal `train.csv` in both layouts, each row's RLE checked against the image size.

- `ImageId,ClassId,EncodedPixels`: one row per (image, defect class); no row means no defect.
- `ImageId_ClassId,EncodedPixels`: four rows per image (`<id>.jpg_<class>`), empty when absent.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import attrs

from unet_defects.domain import rle
from unet_defects.domain.errors import DataError

CLASS_IDS = (1, 2, 3, 4)
HEADERS = (("ImageId", "ClassId", "EncodedPixels"), ("ImageId_ClassId", "EncodedPixels"))


@attrs.frozen
class DefectRow:
    image_id: str
    class_id: int
    encoded: str
    line: int


def _split(fields: list[str], layout: int, where: str) -> tuple[str, str, str]:
    if len(fields) != len(HEADERS[layout]):
        raise DataError(f"{where}: expected {len(HEADERS[layout])} fields, got {len(fields)}")
    if layout == 0:
        return fields[0], fields[1], fields[2]
    image_id, sep, class_text = fields[0].rpartition("_")
    if not sep:
        raise DataError(f"{where}: expected ImageId_ClassId like 0002cc93b.jpg_1, got {fields[0]!r}")
    return image_id, class_text, fields[1]


def parse_train_csv(text: str, source: str | Path = "train.csv", shape: tuple[int, int] = rle.SEVERSTAL_SHAPE,
                    skip_bad_rows: bool = False) -> tuple[list[DefectRow], list[str]]:
    """The defect rows (rows with an empty RLE are dropped) and, when skipping, the bad rows' reasons.

    Without `skip_bad_rows` the first bad row raises DataError naming the file and line.
    """
    reader = csv.reader(io.StringIO(text))
    header = tuple(next(reader, ()))
    if header not in HEADERS:
        raise DataError(f"{source}:1: unknown header {','.join(header)!r}; expected "
                        f"{' or '.join(','.join(h) for h in HEADERS)}")
    layout = HEADERS.index(header)
    rows: list[DefectRow] = []
    problems: list[str] = []
    for number, fields in enumerate(reader, start=2):
        if not fields:
            continue
        where = f"{source}:{number}"
        try:
            image_id, class_text, encoded = _split(fields, layout, where)
            if not class_text.strip().isdigit() or int(class_text) not in CLASS_IDS:
                raise DataError(f"{where}: class {class_text!r} is not one of 1, 2, 3, 4")
            if encoded.strip():
                try:
                    rle.decode(encoded, shape)
                except ValueError as error:
                    raise DataError(f"{where}: {image_id} class {class_text}: {error}") from None
                rows.append(DefectRow(image_id, int(class_text), encoded.strip(), number))
        except DataError as error:
            if not skip_bad_rows:
                raise
            problems.append(str(error))
    return rows, problems


def read_train_csv(path: Path, **options) -> tuple[list[DefectRow], list[str]]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DataError(f"{path}: train.csv not found") from None
    except (OSError, UnicodeDecodeError) as error:
        raise DataError(f"{path}: cannot read ({error})") from None
    return parse_train_csv(text, path, **options)
