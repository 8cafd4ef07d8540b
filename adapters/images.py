"""Image files through imageio, and the pictures users look at (overlays, triptychs)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from unet_defects.adapters.image_headers import HeaderError, file_size, is_palette_png
from unet_defects.domain.errors import DataError
from unet_defects.domain.gray import to_gray_uint8
from unet_defects.domain.tiling import row_strips

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff")  # what the readers take
TF_DECODABLE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif")  # what tf.io.decode_image reads
# Mask colours by class value: background black, defect red (an RGB triple per class).
MASK_COLOURS = np.array([[0, 0, 0], [255, 0, 0]], dtype=np.float32)
# Several defect classes: class k (channel k - 1) in the k-th colour, cycled after eight; the
# first is the one class's red (docs/deploy.md has the legend).
CLASS_COLOURS = np.array([[255, 0, 0], [0, 200, 0], [0, 90, 255], [255, 210, 0], [230, 0, 230], [0, 220, 220],
                          [255, 130, 0], [140, 70, 255]], dtype=np.float32)
OVERLAY_IMAGE_WEIGHT = 0.6  # the reference draws 0.6 * image + 0.4 * colour


def tf_decodable(path: str | os.PathLike) -> bool:
    return str(path).lower().endswith(TF_DECODABLE_SUFFIXES)


def read_gray(path: str | os.PathLike, max_pixels: int | None = None) -> np.ndarray:
    """An 8-bit grayscale image as a (H, W) uint8 array; gray stored as RGB is accepted. With
    `max_pixels`, the size the header declares is checked before any pixel is decoded."""
    import imageio.v3 as iio

    path = Path(path)
    if max_pixels is not None:
        _check_declared_size(path, max_pixels)
    try:
        image = np.asarray(iio.imread(path))
    except FileNotFoundError:
        raise DataError(f"{path}: image file not found") from None
    except Exception as error:  # imageio raises many types for broken files
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise DataError(f"{path}: cannot read image ({reason})") from None
    return to_gray_uint8(image, path)


def read_mask(path: str | os.PathLike) -> np.ndarray:
    """A mask file as (H, W) uint8: an indexed-colour (palette) PNG's indices, as VOC and most
    labelling tools write a class per index (0 the background); any other file by `read_gray`."""
    path = Path(path)
    try:
        with open(path, "rb") as handle:
            head = handle.read(26)
    except FileNotFoundError:
        raise DataError(f"{path}: image file not found") from None
    if not is_palette_png(head):
        return read_gray(path)
    return palette_indices(path.read_bytes(), path)


def palette_indices(data: bytes, where: str | os.PathLike) -> np.ndarray:
    """A palette PNG's (H, W) indices from its bytes (Pillow's mode "P": the indices, not the colours)."""
    import io

    from PIL import Image

    try:
        with Image.open(io.BytesIO(data)) as opened:
            indices = np.asarray(opened)
    except Exception as error:  # Pillow raises many types for broken files
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise DataError(f"{where}: cannot read image ({reason})") from None
    return indices.astype(np.uint8)


def _check_declared_size(path: Path, max_pixels: int) -> None:
    """The size the header declares (image_headers, as the server checks an upload), before any
    pixel is decoded. A file that is not a known image, or whose header is cut short, is left to
    the decoder, which says why in its own line."""
    try:
        height, width = file_size(path)  # its first bytes only
    except FileNotFoundError:
        raise DataError(f"{path}: image file not found") from None
    except (OSError, HeaderError):
        return
    if width * height > max_pixels:
        raise DataError(f"{path}: {height} x {width} = {width * height:,} pixels, more than --max_pixels {max_pixels:,}")


def write_png(path: str | os.PathLike, image: np.ndarray) -> None:
    """Write a PNG via a temporary name so a crash never leaves half a file."""
    import imageio.v3 as iio

    path = Path(path)
    temporary = path.with_name(f".{path.name}.tmp")
    iio.imwrite(temporary, np.asarray(image), extension=".png")
    os.replace(temporary, path)


def png_bytes(image: np.ndarray) -> bytes:
    """An image encoded as a PNG file's bytes (a server's answer)."""
    import imageio.v3 as iio

    return iio.imwrite("<bytes>", np.asarray(image), extension=".png")


def colour_mask(mask: np.ndarray) -> np.ndarray:
    """A boolean (H, W) mask as an RGB picture in the mask colours."""
    return MASK_COLOURS[np.asarray(mask, dtype=bool).astype(np.intp)]


def _overlay_table(colours: np.ndarray = MASK_COLOURS) -> np.ndarray:
    """(mask classes, 256, 3) uint8: the overlay's RGB pixel for each mask class and gray value,
    0.6 x image + 0.4 x mask colour in float32, rounded and clipped, as the reference draws."""
    gray = np.arange(256, dtype=np.float32)[None, :, None]
    blended = OVERLAY_IMAGE_WEIGHT * gray + (1.0 - OVERLAY_IMAGE_WEIGHT) * colours[:, None, :]
    return np.clip(np.rint(blended), 0, 255).astype(np.uint8)


OVERLAY_TABLE = _overlay_table()


def class_colours(count: int) -> np.ndarray:
    """(count + 1, 3): black for good, then each class's colour."""
    return np.concatenate([MASK_COLOURS[:1], CLASS_COLOURS[np.arange(count) % len(CLASS_COLOURS)]])


def class_overlay(gray: np.ndarray, masks: np.ndarray) -> np.ndarray:
    """An (H, W) uint8 image and (H, W, K) masks to (H, W, 3): each defect pixel in its class's
    colour (the first class in channel order where two overlap), as `overlay` blends."""
    gray, masks = np.asarray(gray), np.asarray(masks, bool)
    if gray.dtype != np.uint8 or masks.shape[:2] != gray.shape or masks.ndim != 3:
        raise ValueError(f"class_overlay takes a uint8 gray image and (H, W, K) masks of its size, got {gray.dtype} "
                         f"{gray.shape} and {masks.shape}")
    table = _overlay_table(class_colours(masks.shape[-1]))

    def rows_of(rows):
        chosen = masks[rows]
        label = np.where(chosen.any(axis=-1), chosen.argmax(axis=-1) + 1, 0)
        return table[label, gray[rows]]

    return _strip_by_strip(gray.shape + (3,), np.uint8, rows_of)


def _strip_by_strip(shape: tuple[int, ...], dtype, make) -> np.ndarray:
    """An array of `shape` filled a strip of rows at a time with make(rows), so a huge picture
    costs its own bytes and not full-size temporaries on the way."""
    out = np.empty(shape, dtype)
    for rows in row_strips(*shape[:2]):
        out[rows] = make(rows)
    return out


def overlay(gray: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """0.6 x image + 0.4 x mask colour, as the reference's overlays: an (H, W) uint8 image and
    mask to (H, W, 3) uint8, looked up in OVERLAY_TABLE a strip of rows at a time."""
    gray, mask = np.asarray(gray), np.asarray(mask)
    if gray.dtype != np.uint8 or mask.shape != gray.shape:
        raise ValueError(f"overlay takes a uint8 gray image and a mask of its shape, got {gray.dtype} "
                         f"{gray.shape} and {mask.shape}")
    return _strip_by_strip(gray.shape + (3,), np.uint8,
                           lambda rows: OVERLAY_TABLE[np.asarray(mask[rows], bool).astype(np.intp), gray[rows]])


def probability_picture(probabilities: np.ndarray) -> np.ndarray:
    """Probabilities as a uint16 picture; 16 bits keep them to 1/65535, enough to re-threshold later."""
    probabilities = np.asarray(probabilities)
    return _strip_by_strip(probabilities.shape, np.uint16,
                           lambda rows: np.rint(np.clip(probabilities[rows], 0, 1) * 65535))


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
