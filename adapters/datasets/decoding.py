"""Image and mask files as tensors, inside tf.data: the pixels every other reader (the file
checks, `unet predict`, the planner) sees, decoded in the graph where TensorFlow can and by the
project's own readers where it cannot (TIFF, the indices of a palette PNG)."""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from unet_defects.adapters.image_headers import PNG_PALETTE, PNG_SIGNATURE
from unet_defects.adapters.images import TF_DECODABLE_SUFFIXES

# libjpeg's accurate integer DCT, as Pillow (and so `unet predict`'s imageio) decodes: TensorFlow's
# default, the fast one, moved half of a magnetic tile's pixels by up to 5 gray levels.
JPEG_DCT = "INTEGER_ACCURATE"


def _name(path: bytes | np.ndarray) -> str:
    return np.asarray(path).item().decode()  # bytes in tf.data, a 0-d array when eager


def _read_with_imageio(path: bytes | np.ndarray) -> np.ndarray:
    from unet_defects.adapters.images import read_gray

    return read_gray(_name(path))


def _palette_indices(raw: bytes | np.ndarray, path: bytes | np.ndarray) -> np.ndarray:
    from unet_defects.adapters.images import palette_indices

    return palette_indices(np.asarray(raw).item(), _name(path))  # the bytes the graph read: the file once


def _to_gray(image: tf.Tensor) -> tf.Tensor:
    """(H, W, C) -> (H, W, 1): gray stored as RGB(A) keeps its value, colour becomes ITU-R 601 luma."""

    def from_rgb():
        rgb = image[..., :3]
        same = tf.reduce_all(rgb[..., 0] == rgb[..., 1]) & tf.reduce_all(rgb[..., 1] == rgb[..., 2])
        luma = tf.round(tf.tensordot(rgb, tf.constant([0.299, 0.587, 0.114], tf.float32), 1))[..., None]
        return tf.cond(same, lambda: rgb[..., :1], lambda: luma)

    return tf.cond(tf.shape(image)[-1] >= 3, from_rgb, lambda: image[..., :1])


def decode_mask(path: tf.Tensor) -> tf.Tensor:
    """A mask file's (H, W, 1) values, the file read once: a palette PNG's indices (read by
    Pillow: TensorFlow would give its colours), any other file as `decode_file` reads an image."""
    raw = tf.io.read_file(path)
    palette = tf.logical_and(tf.strings.substr(raw, 0, 8) == PNG_SIGNATURE,
                             tf.strings.substr(raw, 25, 1) == bytes([PNG_PALETTE]))

    def indices():
        return tf.cast(tf.numpy_function(_palette_indices, [raw, path], tf.uint8, stateful=False)[..., None],
                       tf.float32)

    mask = tf.cond(palette, indices, lambda: decode_file(path, 1, raw))
    mask.set_shape([None, None, 1])
    return mask


def decode_file(path: tf.Tensor, channels: int, raw: tf.Tensor | None = None) -> tf.Tensor:
    """PNG, JPEG, BMP and GIF in the graph (by content; `raw`: the file's bytes, when already
    read); other formats (TIFF) through imageio."""

    def by_tensorflow():
        return decode_bytes(tf.io.read_file(path) if raw is None else raw, channels)

    def by_imageio():
        gray = tf.numpy_function(_read_with_imageio, [path], tf.uint8, stateful=False)
        return tf.tile(tf.cast(gray[..., None], tf.float32), [1, 1, channels])

    lowered = tf.strings.lower(path)
    decodable = tf.reduce_any([tf.strings.regex_full_match(lowered, f".*\\{suffix}")
                               for suffix in TF_DECODABLE_SUFFIXES])
    image = tf.cond(decodable, by_tensorflow, by_imageio)
    image.set_shape([None, None, channels])
    return image


def decode_bytes(raw: tf.Tensor, channels: int) -> tf.Tensor:
    """Encoded PNG/JPEG/BMP/GIF bytes -> (H, W, channels) float32 pixel values."""
    if channels != 1:
        image = tf.cond(
            tf.io.is_jpeg(raw),
            lambda: tf.cast(tf.io.decode_jpeg(raw, channels=channels, dct_method=JPEG_DCT), tf.float32),
            lambda: tf.cast(tf.io.decode_image(raw, channels=channels, expand_animations=False), tf.float32),
        )
        image.set_shape([None, None, channels])
        return image
    # JPEG: the decoder's own luma plane. Others (BMP cannot decode to one channel): as
    # adapters.images.read_gray converts, so that every reader sees the same pixels.
    image = tf.cond(
        tf.io.is_jpeg(raw),
        lambda: tf.cast(tf.io.decode_jpeg(raw, channels=1, dct_method=JPEG_DCT), tf.float32),
        lambda: _to_gray(tf.cast(tf.io.decode_image(raw, channels=0, expand_animations=False), tf.float32)),
    )
    image.set_shape([None, None, 1])
    return image


def decode_rle(encoded: tf.Tensor, height: tf.Tensor, width: tf.Tensor) -> tf.Tensor:
    """A Severstal RLE string (1-based starts, column-major) as an (H, W, 1) float 0/1 mask.
    Rows are validated by the domain codec before training; this is its in-graph twin."""
    tokens = tf.strings.to_number(tf.strings.split(encoded), tf.int64)
    starts, lengths = tokens[0::2] - 1, tokens[1::2]
    size = tf.cast(height * width, tf.int64)
    ones = tf.ones_like(starts, tf.int32)
    delta = tf.zeros([size + 1], tf.int32)
    delta = tf.tensor_scatter_nd_add(delta, starts[:, None], ones)
    delta = tf.tensor_scatter_nd_add(delta, (starts + lengths)[:, None], -ones)
    flat = tf.cumsum(delta)[:size]
    return tf.cast(tf.transpose(tf.reshape(flat, [width, height]))[..., None], tf.float32)
