"""What the model sees of an image: one (H, W) uint8 gray channel, by the rules every door reads
by (files in `unet predict`, arrays in the Inspector, uploads in the server)."""

from __future__ import annotations

import os

import numpy as np

from unet_defects.domain.errors import DataError

_CHANNELS = {1: "gray", 3: "RGB", 4: "RGBA"}


def to_gray_uint8(image: np.ndarray, path: str | os.PathLike = "image") -> np.ndarray:
    """Gray with alpha and RGBA lose the alpha; RGB whose channels agree is that gray, else
    ITU-R 601 luma (PIL's "L"); 16-bit scales to 8 (// 257); a bool mask is 0 or 255."""
    if image.ndim == 3 and image.shape[2] == 2:  # gray with alpha: the alpha goes, as RGBA's does
        image = image[..., 0]
    if image.ndim == 3 and image.shape[2] in (3, 4):
        if image.shape[2] == 4:
            image = image[..., :3]
        if np.array_equal(image[..., 0], image[..., 1]) and np.array_equal(image[..., 1], image[..., 2]):
            image = image[..., 0]
        else:  # ITU-R 601 luma, as PIL's "L" conversion
            image = image.astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32)
            image = np.clip(np.rint(image), 0, 255)
    elif image.ndim == 3 and image.shape[2] == 1:
        image = image[..., 0]
    if image.ndim != 2:
        raise DataError(f"{path}: expected a grayscale image, got an array of shape {image.shape}")
    if image.dtype == np.uint16:
        image = image // 257
    elif image.dtype == bool:
        image = image.astype(np.uint8) * 255
    return image.astype(np.uint8)


def checked_image(image: object, max_pixels: int, where: str = "image") -> np.ndarray:
    """An (H, W) uint8 gray image from what a caller passed, by predict's reading rules, or a
    one-line ValueError saying what is wrong with it."""
    if not isinstance(image, np.ndarray):
        raise ValueError(f"{where}: expected a numpy array, got {type(image).__name__}")
    if image.dtype not in (np.uint8, np.uint16):
        raise ValueError(f"{where}: dtype {image.dtype} is not an image's; expected uint8 or uint16")
    if image.ndim not in (2, 3) or (image.ndim == 3 and image.shape[2] not in _CHANNELS):
        raise ValueError(f"{where}: shape {image.shape}; expected H x W, or H x W x 1, 3 or 4 channels")
    if image.shape[0] == 0 or image.shape[1] == 0:
        raise ValueError(f"{where}: shape {image.shape} holds no pixels")
    pixels = image.shape[0] * image.shape[1]
    if pixels > max_pixels:
        raise ValueError(f"{where}: {image.shape[0]} x {image.shape[1]} = {pixels:,} pixels, more than the "
                         f"inspector's limit of {max_pixels:,} (Inspector.open(max_pixels=...))")
    return to_gray_uint8(image, where)
