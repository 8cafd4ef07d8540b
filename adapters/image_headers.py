"""Image files recognised by their first bytes and sized from their header, before a pixel is
decoded: what the server checks an upload by, and `unet predict --max_pixels` a file by (a 2 KB
PNG that claims 60000 x 60000 pixels is refused before it is inflated)."""

from __future__ import annotations

import struct


class HeaderError(ValueError):
    """The bytes are not an image this module knows, or its header is cut short: one line."""


# (kind, first bytes, the extension imageio decodes it by)
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_SIGNATURES = (
    ("PNG", PNG_SIGNATURE, ".png"),
    ("JPEG", b"\xff\xd8\xff", ".jpg"),
    ("BMP", b"BM", ".bmp"),
    ("TIFF", b"II*\x00", ".tif"),
    ("TIFF", b"MM\x00*", ".tif"),
)
KINDS_TEXT = "PNG, JPEG, BMP or TIFF"
# JPEG start-of-frame markers (baseline, progressive, lossless, arithmetic): they carry the size.
_JPEG_FRAMES = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}


def image_kind(data: bytes, what: str = "the body") -> tuple[str, str]:
    """(kind, extension) by the first bytes, or HeaderError naming `what`."""
    for kind, signature, extension in _SIGNATURES:
        if data.startswith(signature):
            return kind, extension
    start = data[:8].hex(" ") if data else f"an empty {what.removeprefix('the ')}"
    raise HeaderError(f"{what} is not a {KINDS_TEXT} image (it starts with {start})")


HEAD_BYTES = 4096  # enough for a PNG's or BMP's header; a JPEG's may lie past it, after its metadata


def file_size(path) -> tuple[int, int]:
    """(height, width) a file's header declares, reading its first bytes and further only while
    the header is cut short (a JPEG's may follow its metadata); HeaderError or OSError."""
    with open(path, "rb") as file:
        head = file.read(HEAD_BYTES)
        kind, _ = image_kind(head, f"the file {getattr(path, 'name', path)}")
        while True:
            try:
                return declared_size(head, kind)
            except HeaderError:
                more = file.read(max(len(head), HEAD_BYTES))
                if not more:
                    raise
                head += more


def declared_size(data: bytes, kind: str) -> tuple[int, int]:
    """(height, width) from the file's header, or HeaderError when it is cut short or broken."""
    try:
        return _SIZE_READERS[kind](data)
    except (struct.error, IndexError):
        raise HeaderError(f"the {kind} header is truncated ({len(data)} bytes)") from None


def _png(data: bytes) -> tuple[int, int]:
    if data[12:16] != b"IHDR":
        raise HeaderError("the PNG does not start with its IHDR header")
    width, height = struct.unpack(">II", data[16:24])
    return height, width


def _jpeg(data: bytes) -> tuple[int, int]:
    at = 2
    while True:
        while data[at] == 0xFF and data[at + 1] == 0xFF:  # fill bytes
            at += 1
        if data[at] != 0xFF:
            raise HeaderError(f"the JPEG has no marker at byte {at}")
        marker = data[at + 1]
        if marker in (0x01, *range(0xD0, 0xD8)):  # stand-alone markers carry no length
            at += 2
            continue
        if marker in (0xD9, 0xDA):
            raise HeaderError("the JPEG has no frame header before its image data")
        (length,) = struct.unpack(">H", data[at + 2:at + 4])
        if marker in _JPEG_FRAMES:
            height, width = struct.unpack(">HH", data[at + 5:at + 9])
            return height, width
        at += 2 + length


def _bmp(data: bytes) -> tuple[int, int]:
    (header,) = struct.unpack("<I", data[14:18])
    if header == 12:  # OS/2 BITMAPCOREHEADER: 16-bit sizes
        width, height = struct.unpack("<HH", data[18:22])
    else:
        width, height = struct.unpack("<ii", data[18:26])
    return abs(height), abs(width)  # a negative height is a top-down bitmap


def _tiff(data: bytes) -> tuple[int, int]:
    order = "<" if data[:2] == b"II" else ">"
    (offset,) = struct.unpack(order + "I", data[4:8])
    (entries,) = struct.unpack(order + "H", data[offset:offset + 2])
    size: dict[int, int] = {}
    for entry in range(entries):
        at = offset + 2 + 12 * entry
        tag, kind = struct.unpack(order + "HH", data[at:at + 4])
        if tag in (256, 257):  # ImageWidth, ImageLength: SHORT or LONG
            (size[tag],) = struct.unpack(order + ("H" if kind == 3 else "I"), data[at + 8:at + (10 if kind == 3 else 12)])
    if len(size) < 2:
        raise HeaderError("the TIFF's first image has no width or length tag")
    return size[257], size[256]


_SIZE_READERS = {"PNG": _png, "JPEG": _jpeg, "BMP": _bmp, "TIFF": _tiff}


PNG_PALETTE = 3  # the IHDR colour type of an indexed-colour PNG (byte 25 of the file)


def is_palette_png(head: bytes) -> bool:
    """Whether a file's first 26 bytes are an indexed-colour PNG's."""
    return head.startswith(PNG_SIGNATURE) and len(head) > 25 and head[12:16] == b"IHDR" and head[25] == PNG_PALETTE
