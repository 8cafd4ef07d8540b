"""Uploaded image files: recognised by their first bytes, sized from their header, then decoded.

Whatever the Content-Type says, only PNG, JPEG, BMP and TIFF are decoded, and only once their
header's width x height is within the pixel limit (a 2 KB PNG that claims 60000 x 60000
pixels is refused before a byte of it is inflated). The pixels then become gray by the rules
predict reads files by (domain.gray.to_gray_uint8).
"""

from __future__ import annotations

import struct

import numpy as np

from unet_defects.domain.errors import DataError
from unet_defects.domain.gray import to_gray_uint8
from unet_defects.serving.errors import BadRequest, TooLarge

# (kind, first bytes, the extension imageio decodes it by)
_SIGNATURES = (
    ("PNG", b"\x89PNG\r\n\x1a\n", ".png"),
    ("JPEG", b"\xff\xd8\xff", ".jpg"),
    ("BMP", b"BM", ".bmp"),
    ("TIFF", b"II*\x00", ".tif"),
    ("TIFF", b"MM\x00*", ".tif"),
)
KINDS_TEXT = "PNG, JPEG, BMP or TIFF"
# JPEG start-of-frame markers (baseline, progressive, lossless, arithmetic): they carry the size.
_JPEG_FRAMES = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}


def image_kind(data: bytes) -> tuple[str, str]:
    """(kind, extension) by the first bytes, or BadRequest."""
    for kind, signature, extension in _SIGNATURES:
        if data.startswith(signature):
            return kind, extension
    start = data[:8].hex(" ") if data else "an empty body"
    raise BadRequest(f"the body is not a {KINDS_TEXT} image (it starts with {start})")


def declared_size(data: bytes, kind: str) -> tuple[int, int]:
    """(height, width) from the file's header, or BadRequest when the header is cut short."""
    try:
        return _SIZE_READERS[kind](data)
    except (struct.error, IndexError):
        raise BadRequest(f"the {kind} header is truncated ({len(data)} bytes)") from None


def _png(data: bytes) -> tuple[int, int]:
    if data[12:16] != b"IHDR":
        raise BadRequest("the PNG does not start with its IHDR header")
    width, height = struct.unpack(">II", data[16:24])
    return height, width


def _jpeg(data: bytes) -> tuple[int, int]:
    at = 2
    while True:
        while data[at] == 0xFF and data[at + 1] == 0xFF:  # fill bytes
            at += 1
        if data[at] != 0xFF:
            raise BadRequest(f"the JPEG has no marker at byte {at}")
        marker = data[at + 1]
        if marker in (0x01, *range(0xD0, 0xD8)):  # stand-alone markers carry no length
            at += 2
            continue
        if marker in (0xD9, 0xDA):
            raise BadRequest("the JPEG has no frame header before its image data")
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
        raise BadRequest("the TIFF's first image has no width or length tag")
    return size[257], size[256]


_SIZE_READERS = {"PNG": _png, "JPEG": _jpeg, "BMP": _bmp, "TIFF": _tiff}


def decode_upload(data: bytes, max_pixels: int) -> np.ndarray:
    """The image as (H, W) uint8 gray by predict's reading rules, or BadRequest / TooLarge, one
    line each."""
    import imageio.v3 as iio

    kind, extension = image_kind(data)
    height, width = declared_size(data, kind)
    if height * width > max_pixels:
        raise TooLarge(f"the {kind} declares {height} x {width} = {height * width:,} pixels, more than the "
                       f"server's --max_pixels {max_pixels:,}")
    if height == 0 or width == 0:
        raise BadRequest(f"the {kind} declares {height} x {width} pixels")
    try:
        image = np.asarray(iio.imread(data, plugin="pillow", extension=extension, index=0))
    except Exception as error:  # the decoders raise many types for broken files
        reason = str(error).splitlines()[0][:160] if str(error) else type(error).__name__
        raise BadRequest(f"cannot decode the {kind} ({reason})") from None
    if image.shape[:2] != (height, width):
        raise BadRequest(f"the {kind} decoded to {image.shape[:2]}, not the {height} x {width} its header declares")
    if image.dtype not in (np.uint8, np.uint16, np.bool_):
        raise BadRequest(f"the {kind} holds {image.dtype} pixels; send 8 or 16-bit integer pixels")
    try:
        return to_gray_uint8(image, f"the {kind}")  # the rules predict reads files by
    except DataError as error:
        raise BadRequest(str(error)) from None
