"""tf.data pipelines shared by the file-based readers: decode, resize, normalize, augment."""

from __future__ import annotations

from collections.abc import Sequence

import tensorflow as tf

from domain.data import DataSpec

AUTOTUNE = tf.data.AUTOTUNE
CACHE_BUDGET = 2 * 1024**3  # bytes of decoded images kept in memory between epochs


def _decode(path: tf.Tensor, channels: int) -> tf.Tensor:
    # decode_image handles PNG, JPEG, BMP and GIF by content, not by suffix.
    image = tf.io.decode_image(tf.io.read_file(path), channels=channels, expand_animations=False)
    return tf.cast(image, tf.float32)


def _binary(mask: tf.Tensor) -> tf.Tensor:
    """0/255 and 0/1 masks (checked before training) both to 0/1."""
    return mask / tf.maximum(tf.reduce_max(mask), 1.0)


def _load(spec: DataSpec):
    scale, offset = spec.normalization()
    size = (spec.height, spec.width)

    def load(image_path, mask_path, has_mask):
        image = _decode(image_path, spec.channels)
        image = tf.image.resize(image, size, method="bilinear")
        image = image * scale + offset
        mask = tf.cond(
            has_mask,
            lambda: tf.image.resize(_binary(_decode(mask_path, 1)), size, method="bilinear"),
            lambda: tf.zeros((*size, 1), tf.float32),
        )
        return image, mask

    return load


def _augment(seed: int, square: bool):
    """The reference's augmentation, seeded per element: horizontal flip and rot90 k in {0,1,2}
    (k in {0, 2} for non-square images, so that shapes are kept)."""

    def augment(index, pair):
        image, mask = pair
        element_seed = tf.stack([tf.cast(seed, tf.int64), index])
        flip = tf.random.stateless_uniform([], seed=element_seed) < 0.5
        k = tf.random.stateless_uniform([], seed=element_seed + 1, maxval=3, dtype=tf.int32)
        if not square:
            k = 2 * (k % 2)
        stacked = tf.concat([image, mask], axis=-1)
        stacked = tf.cond(flip, lambda: tf.image.flip_left_right(stacked), lambda: stacked)
        stacked = tf.image.rot90(stacked, k)
        return stacked[..., :-1], stacked[..., -1:]

    return augment


def _files(samples: Sequence) -> tf.data.Dataset:
    images = [str(s.image) for s in samples]
    masks = [str(s.mask) if s.mask is not None else "" for s in samples]
    present = [s.mask is not None for s in samples]
    return tf.data.Dataset.from_tensor_slices((images, masks, present))


def _fits_in_memory(count: int, spec: DataSpec) -> bool:
    return count * spec.height * spec.width * (spec.channels + 1) * 4 <= CACHE_BUDGET


def training_stream(samples: Sequence, spec: DataSpec, seed: int | None) -> tf.data.Dataset:
    """Infinite batches (image NHWC float32, mask NHWC float32 in [0, 1])."""
    seed = 0 if seed is None else seed
    dataset = _files(samples).map(_load(spec), num_parallel_calls=AUTOTUNE)
    if _fits_in_memory(len(samples), spec):
        dataset = dataset.cache()
    if spec.shuffle:
        buffer = min(spec.shuffle_buffer_size, len(samples))
        dataset = dataset.shuffle(buffer, seed=seed, reshuffle_each_iteration=True)
    dataset = dataset.repeat()
    if spec.augment_data:
        square = spec.height == spec.width
        dataset = dataset.enumerate().map(_augment(seed, square), num_parallel_calls=AUTOTUNE)
    dataset = dataset.batch(spec.train_batch_size, drop_remainder=True)
    return dataset.prefetch(AUTOTUNE)


def evaluation_stream(samples: Sequence, spec: DataSpec) -> tf.data.Dataset:
    """Every sample once, in order, the last batch possibly smaller."""
    dataset = _files(samples).map(_load(spec), num_parallel_calls=AUTOTUNE, deterministic=True)
    return dataset.batch(spec.eval_batch_size, drop_remainder=False).prefetch(AUTOTUNE)
