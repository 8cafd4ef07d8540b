"""tf.data pipelines shared by the file-based readers: decode, fit to image_shape, normalize,
augment, batch.

An element names its image file and where its mask comes from: a mask file, a Severstal RLE
string (decoded in the graph), or neither (a defect-free image, all background).
"""

from __future__ import annotations

from collections.abc import Sequence

import tensorflow as tf

from domain.augmentation import AugmentationSpec
from domain.data import DataSpec

AUTOTUNE = tf.data.AUTOTUNE
CACHE_BUDGET = 2 * 1024**3  # bytes of decoded images kept in memory between epochs


def _decode(path: tf.Tensor, channels: int) -> tf.Tensor:
    # decode_image handles PNG, JPEG, BMP and GIF by content, not by suffix.
    image = tf.io.decode_image(tf.io.read_file(path), channels=channels, expand_animations=False)
    return tf.cast(image, tf.float32)


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


def _binary(mask: tf.Tensor, threshold: float | None) -> tf.Tensor:
    """0/255 and 0/1 masks (checked before training) to 0/1; with a threshold, >= it is 1."""
    if threshold is not None:
        return tf.cast(mask >= threshold, tf.float32)
    return mask / tf.maximum(tf.reduce_max(mask), 1.0)


def _load(spec: DataSpec, resize: bool, mask_method: str, mask_threshold: float | None):
    scale, offset = spec.normalization()
    size = (spec.height, spec.width)

    def load(image_path, mask_path, encoded):
        image = _decode(image_path, spec.channels)
        shape = tf.shape(image)
        mask = tf.cond(
            tf.strings.length(mask_path) > 0,
            lambda: _binary(_decode(mask_path, 1), mask_threshold),
            lambda: decode_rle(encoded, shape[0], shape[1]),  # all zeros for an empty string
        )
        if resize:
            image = tf.image.resize(image, size, method="bilinear")
            mask = tf.image.resize(mask, size, method=mask_method)
        return image * scale + offset, mask

    return load


def _augment(spec: DataSpec, augmentation: AugmentationSpec, seed: int, crop: bool):
    """Seeded per element (seed, index): an optional crop of image_shape, flips, quarter turns,
    brightness and contrast, the pixel changes clipped to the normalized range."""
    scale, offset = spec.normalization()
    low, high = offset, 255.0 * scale + offset
    turns = tf.constant(augmentation.quarter_turns(spec.height == spec.width), tf.int32)
    brightness = augmentation.brightness_for(spec.dataset) * (high - low)
    enabled = spec.augment_data

    def draw(element_seed, salt):
        return tf.random.stateless_uniform([], seed=element_seed + salt)

    def augment(index, pair):
        image, mask = pair
        element_seed = tf.stack([tf.cast(seed, tf.int64), index])
        stacked = tf.concat([image, mask], axis=-1)
        if crop:
            stacked = tf.image.stateless_random_crop(
                stacked, [spec.height, spec.width, spec.channels + 1], seed=element_seed + 7)
        if enabled and augmentation.horizontal_flip:
            stacked = tf.cond(draw(element_seed, 1) < 0.5, lambda: tf.image.flip_left_right(stacked), lambda: stacked)
        if enabled and augmentation.vertical_flip:
            stacked = tf.cond(draw(element_seed, 2) < 0.5, lambda: tf.image.flip_up_down(stacked), lambda: stacked)
        if enabled and len(augmentation.quarter_turns(spec.height == spec.width)) > 1:
            pick = tf.random.stateless_uniform([], seed=element_seed + 3, maxval=tf.size(turns), dtype=tf.int32)
            stacked = tf.image.rot90(stacked, turns[pick])
        image, mask = stacked[..., :-1], stacked[..., -1:]
        if enabled and brightness > 0:
            shift = tf.where(draw(element_seed, 4) < augmentation.brightness_probability, brightness, 0.0)
            image = tf.clip_by_value(image + shift, low, high)
        if enabled and augmentation.contrast > 0:
            factor = 1.0 + augmentation.contrast * (2.0 * draw(element_seed, 5) - 1.0)
            mean = tf.reduce_mean(image)
            image = tf.clip_by_value(mean + (image - mean) * factor, low, high)
        return image, mask

    return augment


def _files(samples: Sequence) -> tf.data.Dataset:
    images = [str(s.image) for s in samples]
    masks = [str(s.mask) if s.mask is not None else "" for s in samples]
    encoded = [getattr(s, "encoded", "") for s in samples]
    return tf.data.Dataset.from_tensor_slices((images, masks, encoded))


def _fits_in_memory(count: int, pixels: int, spec: DataSpec) -> bool:
    return count * pixels * (spec.channels + 1) * 4 <= CACHE_BUDGET


def training_stream(samples: Sequence, spec: DataSpec, seed: int | None,
                    augmentation: AugmentationSpec | None = None, mask_method: str = "bilinear",
                    mask_threshold: float | None = None, native_pixels: int | None = None) -> tf.data.Dataset:
    """Infinite batches (image NHWC float32, mask NHWC float32 in [0, 1]).

    With `image_fit: crop` images are decoded whole (cached when they fit; `native_pixels` is
    their pixel count) and each draw takes a random crop of image_shape from one."""
    seed = 0 if seed is None else seed
    crop = spec.image_fit == "crop"
    augmentation = augmentation or AugmentationSpec()
    load = _load(spec, resize=not crop, mask_method=mask_method, mask_threshold=mask_threshold)
    dataset = _files(samples).map(load, num_parallel_calls=AUTOTUNE)
    pixels = native_pixels if crop and native_pixels else spec.height * spec.width
    if _fits_in_memory(len(samples), pixels, spec):
        dataset = dataset.cache()
    if spec.shuffle:
        buffer = min(spec.shuffle_buffer_size, len(samples))
        dataset = dataset.shuffle(buffer, seed=seed, reshuffle_each_iteration=True)
    dataset = dataset.repeat()
    if crop or spec.augment_data:
        dataset = dataset.enumerate().map(_augment(spec, augmentation, seed, crop), num_parallel_calls=AUTOTUNE)
    dataset = dataset.batch(spec.train_batch_size, drop_remainder=True)
    return dataset.prefetch(AUTOTUNE)


def evaluation_stream(samples: Sequence, spec: DataSpec, mask_method: str = "bilinear",
                      mask_threshold: float | None = None) -> tf.data.Dataset:
    """Every sample once, in order, the last batch possibly smaller; with `image_fit: crop`,
    whole images at their own size."""
    load = _load(spec, resize=spec.image_fit != "crop", mask_method=mask_method, mask_threshold=mask_threshold)
    dataset = _files(samples).map(load, num_parallel_calls=AUTOTUNE, deterministic=True)
    return dataset.batch(spec.eval_batch_size, drop_remainder=False).prefetch(AUTOTUNE)
