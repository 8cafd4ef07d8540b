"""Parsing DAGM 2007 `Labels.txt` files as they really are.

The real files (all 20 originals checked) have CRLF line ends, a first line holding the single
character `1`, then tab-separated rows `<id> <flag> <id>.PNG 0 <id>_label.PNG` for defective
images and `<id> 0 <id>.PNG 0 0` plus one trailing tab for clean ones.
"""

from __future__ import annotations

from pathlib import Path

import attrs

from unet_defects.domain.errors import DataError

HEADER = "1"


@attrs.frozen
class LabelRow:
    image_id: str
    defective: bool
    image_file: str
    mask_file: str | None
    line: int


def parse_labels(text: str, source: str | Path = "Labels.txt", unmasked_defects: bool = False) -> list[LabelRow]:
    """Rows of a Labels.txt text; any malformed row fails with `file:line: reason`.
    `unmasked_defects`: a row flagged defective may name no label file (its mask_file is None)."""
    rows: list[LabelRow] = []
    seen: dict[str, int] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.rstrip("\r\n")
        if not line.strip():
            continue
        if number == 1 and line.strip() == HEADER:
            continue
        fields = line.split("\t")
        while fields and fields[-1] == "":
            fields.pop()  # clean rows carry a trailing tab
        where = f"{source}:{number}"
        if len(fields) != 5:
            raise DataError(f"{where}: expected 5 tab-separated fields, got {len(fields)}: {line!r}")
        image_id, flag, image_file, _, mask_file = (field.strip() for field in fields)
        if flag not in ("0", "1"):
            raise DataError(f"{where}: the defect flag must be 0 or 1, got {flag!r}")
        defective = flag == "1"
        if defective and mask_file in ("", "0") and not unmasked_defects:
            raise DataError(f"{where}: image {image_file} is flagged defective but names no label file")
        if not defective and mask_file not in ("", "0"):
            raise DataError(f"{where}: image {image_file} is flagged clean but names label file {mask_file}")
        if image_file in seen:
            raise DataError(f"{where}: image {image_file} is listed twice (first on line {seen[image_file]})")
        seen[image_file] = number
        named = defective and mask_file not in ("", "0")
        rows.append(LabelRow(image_id, defective, image_file, mask_file if named else None, number))
    return rows


def read_labels(path: Path, unmasked_defects: bool = False) -> list[LabelRow]:
    try:
        text = path.read_bytes().decode("ascii")
    except FileNotFoundError:
        raise DataError(f"{path}: Labels.txt not found") from None
    except UnicodeDecodeError:
        raise DataError(f"{path}: not an ASCII Labels.txt file") from None
    except OSError as error:
        raise DataError(f"{path}: cannot read ({error.strerror})") from None
    return parse_labels(text, path, unmasked_defects)


def format_labels(rows: list[tuple[str, bool]]) -> bytes:
    """The exact bytes of a Labels.txt for (image_id, defective) pairs, as DAGM writes them."""
    lines = [HEADER]
    for image_id, defective in rows:
        if defective:
            lines.append(f"{image_id}\t1\t{image_id}.PNG\t0\t{image_id}_label.PNG")
        else:
            lines.append(f"{image_id}\t0\t{image_id}.PNG\t0\t0\t")
    return ("\r\n".join(lines) + "\r\n").encode("ascii")
