"""tf.data pipelines shared by the file-based readers: fit to image_shape, normalize, augment,
batch (the files' decoding: decoding.py).

An element names its image file and where its mask comes from: a mask file, a Severstal RLE
string (decoded in the graph), or neither (a defect-free image, all background; or, for a part
with an image label only, all UNKNOWN_DEFECT).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import tensorflow as tf

from unet_defects.adapters.datasets import crops
from unet_defects.adapters.datasets.decoding import decode_file, decode_mask, decode_rle
from unet_defects.domain.augmentation import AugmentationSpec
from unet_defects.domain.data import DataSpec
from unet_defects.domain.image_labels import UNKNOWN_DEFECT
from unet_defects.domain.masks import TRUTH_THRESHOLD

AUTOTUNE = tf.data.AUTOTUNE
CACHE_BUDGET = 2 * 1024**3  # bytes of decoded images kept in memory between epochs


def _binary(mask: tf.Tensor, threshold: float | None) -> tf.Tensor:
    """unet_defects.domain.masks.binarize_mask in the graph, as 0/1 floats."""
    cutoff = threshold if threshold is not None else TRUTH_THRESHOLD * tf.maximum(tf.reduce_max(mask), 1.0)
    return tf.cast(mask >= cutoff, tf.float32)


def fit(spec: DataSpec, resize: bool, mask_method: str = "bilinear"):
    """(raw image, 0/1 mask) at their own size -> resized to image_shape (unless cropping later)
    and normalized."""
    scale, offset = spec.normalization()
    size = (spec.height, spec.width)

    def apply(image, mask):
        if resize:
            image = tf.image.resize(image, size, method="bilinear")
            mask = tf.image.resize(mask, size, method=mask_method)
        return image * scale + offset, mask

    return apply


def _mask_channels(raw: tf.Tensor, spec: DataSpec, threshold: float | None) -> tf.Tensor:
    """A mask file's (H, W, 1) pixels -> (H, W, K) 0/1: a label image's value k is channel k - 1."""
    if not spec.label_masks:
        return _binary(raw, threshold)
    return tf.concat([tf.cast(raw == float(k), tf.float32) for k in range(1, len(spec.classes) + 1)], axis=-1)


def _load(spec: DataSpec, resize: bool, mask_method: str, mask_threshold: float | None):
    fitted = fit(spec, resize, mask_method)
    count = len(spec.classes)

    def load(image_path, mask_path, encoded, label_only):
        image = decode_file(image_path, spec.channels)
        shape = tf.shape(image)

        def from_runs():  # all zeros for empty strings
            return tf.concat([decode_rle(encoded[k], shape[0], shape[1]) for k in range(count)], axis=-1)

        def drawn():
            return tf.cond(tf.strings.length(mask_path) > 0,
                           lambda: _mask_channels(decode_mask(mask_path), spec, mask_threshold), from_runs)

        # A part with an image label only: every pixel unknown (no pixel loss), the part defective.
        mask = tf.cond(label_only, lambda: tf.fill([shape[0], shape[1], count], UNKNOWN_DEFECT), drawn)
        mask.set_shape([None, None, count])
        return fitted(image, mask)

    return load


def _augment(spec: DataSpec, augmentation: AugmentationSpec, seed: int, crop: bool):
    """Seeded per element (seed, index): a crop of image_shape (centred on a defect when the
    draw says so, adapters.datasets.crops), flips, quarter turns, brightness and contrast, the
    pixel changes clipped to the normalized range."""
    scale, offset = spec.normalization()
    low, high = offset, 255.0 * scale + offset
    turns = tf.constant(augmentation.quarter_turns(spec.height == spec.width), tf.int32)
    brightness = augmentation.brightness_for(spec.dataset) * (high - low)
    enabled = spec.augment_data

    def draw(element_seed, salt):
        return tf.random.stateless_uniform([], seed=element_seed + salt)

    def augment(index, draw_):
        image, mask, centre = draw_
        element_seed = tf.stack([tf.cast(seed, tf.int64), index])
        stacked = tf.concat([image, mask], axis=-1)
        if crop:
            stacked = crops.crop(stacked, spec, element_seed, centre)
        if enabled and augmentation.horizontal_flip:
            stacked = tf.cond(draw(element_seed, 1) < 0.5, lambda: tf.image.flip_left_right(stacked), lambda: stacked)
        if enabled and augmentation.vertical_flip:
            stacked = tf.cond(draw(element_seed, 2) < 0.5, lambda: tf.image.flip_up_down(stacked), lambda: stacked)
        if enabled and len(augmentation.quarter_turns(spec.height == spec.width)) > 1:
            pick = tf.random.stateless_uniform([], seed=element_seed + 3, maxval=tf.size(turns), dtype=tf.int32)
            stacked = tf.image.rot90(stacked, turns[pick])
        image, mask = stacked[..., :spec.channels], stacked[..., spec.channels:]
        if enabled and brightness > 0:
            shift = tf.where(draw(element_seed, 4) < augmentation.brightness_probability, brightness, 0.0)
            image = tf.clip_by_value(image + shift, low, high)
        if enabled and augmentation.contrast > 0:
            factor = 1.0 + augmentation.contrast * (2.0 * draw(element_seed, 5) - 1.0)
            mean = tf.reduce_mean(image)
            image = tf.clip_by_value(mean + (image - mean) * factor, low, high)
        return image, mask

    return augment


def _files(samples: Sequence, classes: int) -> tf.data.Dataset:
    images = [str(s.image) for s in samples]
    masks = [str(s.mask) if s.mask is not None else "" for s in samples]
    # (N, K): one RLE string per class (empty ones beside a mask file, which the graph skips)
    encoded = [list(s.runs) + [""] * (classes - len(s.runs)) for s in samples]
    label_only = [bool(s.label_only) for s in samples]
    return tf.data.Dataset.from_tensor_slices((images, masks, encoded, label_only))


def _fits_in_memory(count: int, pixels: int, spec: DataSpec) -> bool:
    return count * pixels * (spec.channels + len(spec.classes)) * 4 <= CACHE_BUDGET


def training_stream(samples: Sequence, spec: DataSpec, seed: int | None,
                    augmentation: AugmentationSpec | None = None, mask_method: str = "bilinear",
                    mask_threshold: float | None = None, native_pixels: int | None = None,
                    groups: Sequence[int] | None = None,
                    held_classes: Sequence[Sequence[int]] | None = None) -> tf.data.Dataset:
    """Infinite batches (image NHWC float32, mask NHWC float32 in [0, 1]) from files.

    With `image_fit: crop` images are decoded whole (cached when they fit; `native_pixels` is
    their pixel count) and each draw takes a random crop of image_shape from one. `groups`: each
    sample's defect type (-1: no defect), to share the defect-centred draws among types;
    `held_classes`: each sample's class channels with a defect pixel, to share them among
    classes (several classes only; it wins over `groups`)."""
    load = _load(spec, resize=spec.image_fit != "crop", mask_method=mask_method, mask_threshold=mask_threshold)
    files = _files(samples, len(spec.classes))
    prepared = files.map(load, num_parallel_calls=AUTOTUNE)
    return training_batches(prepared, len(samples), spec, seed, augmentation, native_pixels, groups, held_classes,
                            unloaded=(files, load))


def training_batches(prepared: tf.data.Dataset, count: int, spec: DataSpec, seed: int | None,
                     augmentation: AugmentationSpec | None = None,
                     native_pixels: int | None = None, groups: Sequence[int] | None = None,
                     held_classes: Sequence[Sequence[int]] | None = None,
                     unloaded: tuple[tf.data.Dataset, Callable] | None = None) -> tf.data.Dataset:
    """Fitted, normalized (image, mask) pairs -> cached, shuffled, repeated, augmented batches.
    `unloaded`: the file elements `prepared` maps from and that map, for the class streams of
    images too many to cache."""
    seed = 0 if seed is None else seed
    crop = spec.image_fit == "crop"
    augmentation = augmentation or AugmentationSpec()
    pixels = native_pixels if crop and native_pixels else spec.height * spec.width
    classes = len(spec.classes)
    buffer = max(1, min(spec.shuffle_buffer_size, count))
    dataset = prepared
    cached = _fits_in_memory(count, pixels, spec)
    if cached:
        dataset = dataset.cache()
    by_class = held_classes is not None and spec.defect_sampling > 0 and classes > 1
    by_group = groups is not None and spec.defect_sampling > 0 and not by_class
    if by_group or by_class:  # the sample's index travels with it, to look its group or classes up
        dataset = dataset.enumerate()
    if by_class:  # each stream shuffled on its own (crops.with_defect_sampling_by_class says why)
        # Not cached: the streams pick and shuffle file names and decode only what they draw.
        source, load = (unloaded[0].enumerate(), unloaded[1]) if unloaded and not cached else (dataset, None)
        dataset = crops.with_defect_sampling_by_class(source, spec.defect_sampling, seed, list(held_classes),
                                                      classes, buffer if spec.shuffle else None, load)
    else:
        if spec.shuffle:
            dataset = dataset.shuffle(buffer, seed=seed, reshuffle_each_iteration=True)
        if by_group:
            dataset = crops.with_defect_sampling_by_group(dataset, spec.defect_sampling, seed, list(groups), classes)
        else:
            dataset = crops.with_defect_sampling(dataset, spec.defect_sampling, seed, classes)
    if crop or spec.augment_data:
        dataset = dataset.enumerate().map(_augment(spec, augmentation, seed, crop), num_parallel_calls=AUTOTUNE)
    else:
        dataset = dataset.map(lambda image, mask, centre: (image, mask))
    dataset = dataset.batch(spec.train_batch_size, drop_remainder=True)
    return dataset.prefetch(AUTOTUNE)


def evaluation_stream(samples: Sequence, spec: DataSpec, mask_method: str = "bilinear",
                      mask_threshold: float | None = None, stride: int = 1,
                      one_size: bool = True) -> tf.data.Dataset:
    """Every sample once, in order, the last batch possibly smaller; with `image_fit: crop`,
    whole images at their own size, padded to the stride (one per batch unless `one_size`)."""
    load = _load(spec, resize=spec.image_fit != "crop", mask_method=mask_method, mask_threshold=mask_threshold)
    prepared = _files(samples, len(spec.classes)).map(load, num_parallel_calls=AUTOTUNE, deterministic=True)
    return evaluation_batches(prepared, spec, stride, one_size)


def evaluation_batches(prepared: tf.data.Dataset, spec: DataSpec, stride: int = 1,
                       one_size: bool = True) -> tf.data.Dataset:
    """Whole images of several sizes go one per batch: padding them together would put zeros
    within the receptive field of their border pixels."""
    if spec.image_fit == "crop":
        prepared = prepared.map(crops.pad_for_evaluation(stride), num_parallel_calls=AUTOTUNE, deterministic=True)
        if not one_size:
            return prepared.batch(1).prefetch(AUTOTUNE)
    return prepared.batch(spec.eval_batch_size, drop_remainder=False).prefetch(AUTOTUNE)
