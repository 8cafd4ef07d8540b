"""Image files through imageio, and the pictures users look at (overlays, triptychs)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from domain.errors import DataError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff")  # what the readers take
TF_DECODABLE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif")  # what tf.io.decode_image reads
# Mask colours by class value: background black, defect red (an RGB triple per class).
MASK_COLOURS = np.array([[0, 0, 0], [255, 0, 0]], dtype=np.float32)
OVERLAY_IMAGE_WEIGHT = 0.6  # the reference draws 0.6 * image + 0.4 * colour


def tf_decodable(path: str | os.PathLike) -> bool:
    return str(path).lower().endswith(TF_DECODABLE_SUFFIXES)


def read_gray(path: str | os.PathLike) -> np.ndarray:
    """An 8-bit grayscale image as a (H, W) uint8 array; gray stored as RGB is accepted."""
    import imageio.v3 as iio

    path = Path(path)
    try:
        image = np.asarray(iio.imread(path))
    except FileNotFoundError:
        raise DataError(f"{path}: image file not found") from None
    except Exception as error:  # imageio raises many types for broken files
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise DataError(f"{path}: cannot read image ({reason})") from None
    return to_gray_uint8(image, path)


def to_gray_uint8(image: np.ndarray, path: str | os.PathLike = "image") -> np.ndarray:
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


def write_png(path: str | os.PathLike, image: np.ndarray) -> None:
    """Write a PNG via a temporary name so a crash never leaves half a file."""
    import imageio.v3 as iio

    path = Path(path)
    temporary = path.with_name(f".{path.name}.tmp")
    iio.imwrite(temporary, np.asarray(image), extension=".png")
    os.replace(temporary, path)


def colour_mask(mask: np.ndarray) -> np.ndarray:
    """A boolean (H, W) mask as an RGB picture in the mask colours."""
    return MASK_COLOURS[np.asarray(mask, dtype=bool).astype(np.intp)]


def overlay(gray: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """0.6 x image + 0.4 x mask colour, as the reference's overlays."""
    rgb = np.repeat(np.asarray(gray, np.float32)[..., None], 3, axis=2)
    blended = OVERLAY_IMAGE_WEIGHT * rgb + (1.0 - OVERLAY_IMAGE_WEIGHT) * colour_mask(mask)
    return np.clip(np.rint(blended), 0, 255).astype(np.uint8)


def triptych(gray: np.ndarray, truth: np.ndarray, prediction: np.ndarray, gap: int = 4) -> np.ndarray:
    """input | true mask | predicted mask, side by side, as the reference's sample pictures."""
    rgb = np.repeat(np.asarray(gray, np.uint8)[..., None], 3, axis=2)
    spacer = np.full((rgb.shape[0], gap, 3), 255, np.uint8)
    panels = [rgb, spacer, colour_mask(truth).astype(np.uint8), spacer, colour_mask(prediction).astype(np.uint8)]
    return np.concatenate(panels, axis=1)


def list_images(path: str | os.PathLike) -> list[Path]:
    """The image files of a directory (sorted), or the file itself."""
    path = Path(path)
    if path.is_dir():
        return sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
    if path.is_file():
        return [path]
    raise DataError(f"{path}: no such file or directory")
