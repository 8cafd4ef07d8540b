"""Uploaded image files: recognised by their first bytes, sized from their header, then decoded.

Whatever the Content-Type says, only PNG, JPEG, BMP and TIFF are decoded, and only once their
header's width x height is within the pixel limit (a 2 KB PNG that claims 60000 x 60000
pixels is refused before a byte of it is inflated). The pixels then become gray by the rules
predict reads files by (domain.gray.to_gray_uint8).
"""

from __future__ import annotations

import numpy as np

from unet_defects.adapters.image_headers import HeaderError, declared_size, image_kind
from unet_defects.domain.errors import DataError
from unet_defects.domain.gray import to_gray_uint8
from unet_defects.serving.errors import BadRequest, TooLarge


def decode_upload(data: bytes, max_pixels: int) -> np.ndarray:
    """The image as (H, W) uint8 gray by predict's reading rules, or BadRequest / TooLarge, one
    line each."""
    import imageio.v3 as iio

    try:
        kind, extension = image_kind(data)
        height, width = declared_size(data, kind)
    except HeaderError as error:
        raise BadRequest(str(error)) from None
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
