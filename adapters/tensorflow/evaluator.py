"""TensorFlowEvaluator: per-image confusion counts, counted in the graph under several rules."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from unet_defects.adapters.tensorflow.device import device_scope
from unet_defects.adapters.tensorflow.outputs import pixel_logits
from unet_defects.application.ports import InferenceEngine
from unet_defects.application.values import EvaluatedMap, ImageEvaluation, LabelledImage, SamplePicture
from unet_defects.domain.curves import HISTOGRAM_BINS
from unet_defects.domain.data import denormalize
from unet_defects.domain.masks import TRUTH_THRESHOLD, DecisionRule, binarize_truth
from unet_defects.domain.sampling import PAD_LABEL, unpadded_size


def _counter(model: Any, rules: Sequence[DecisionRule], ignore_labels: Sequence[int]) -> Any:
    """A compiled function: per-image (tn, fp, fn, tp) counts under each rule for each class,
    shape (batch, rules, classes, 4), the first rule's decision masks, each class's peak and its
    counted pixels by probability bin (batch, classes, 2, bins; domain.curves)."""
    import tensorflow as tf

    cutoff = tf.constant([rule.logit_cutoff for rule in rules], tf.float32)
    ignored = tf.constant(list(ignore_labels) or [-1], tf.int32)

    @tf.function(reduce_retracing=True)
    def count(images, masks):
        logits = tf.cast(pixel_logits(model(images, training=False)), tf.float32)  # (batch, H, W, classes)
        predicted = logits[..., None] > cutoff  # (batch, H, W, classes, rules)
        truth = masks >= TRUTH_THRESHOLD
        labels = tf.cast(truth, tf.int32)
        # Padding (mask PAD_LABEL) and ignored labels count nowhere.
        keep = tf.logical_not(tf.reduce_any(labels[..., None] == ignored, axis=-1)) & (masks > PAD_LABEL)
        truth, kept = truth[..., None], keep[..., None]

        def pixels(condition):  # (batch, H, W, classes, rules) -> (batch, rules, classes)
            return tf.transpose(tf.reduce_sum(tf.cast(condition & kept, tf.int64), axis=[1, 2]), [0, 2, 1])

        counts = tf.stack(
            [pixels(~truth & ~predicted), pixels(~truth & predicted),
             pixels(truth & ~predicted), pixels(truth & predicted)], axis=3,
        )
        # Each class's largest counted logit, as a probability (the image_AUROC score).
        peak = tf.sigmoid(tf.reduce_max(tf.where(keep, logits, -1e9), axis=[1, 2]))  # (batch, classes)
        return counts, predicted[..., 0], peak, _histograms(logits, truth[..., 0], keep)

    return count


def _histograms(logits: Any, truth: Any, keep: Any) -> Any:
    """(batch, classes, 2, bins) int64: the kept pixels by probability bin, background then
    defect (domain.curves.pixel_histogram's bins), one bincount over the batch."""
    import tensorflow as tf

    bins = HISTOGRAM_BINS
    shape = tf.shape(logits)
    batch, classes = shape[0], shape[3]
    binned = tf.clip_by_value(tf.cast(tf.floor(tf.sigmoid(logits) * bins), tf.int32), 0, bins - 1)
    cell = (tf.range(batch)[:, None, None, None] * classes + tf.range(classes)[None, None, None, :]) * 2
    index = (cell + tf.cast(truth, tf.int32)) * bins + binned
    size = batch * classes * 2 * bins
    counts = tf.math.bincount(tf.boolean_mask(index, keep), minlength=size, maxlength=size, dtype=tf.int64)
    return tf.reshape(counts, [batch, classes, 2, bins])


class TensorFlowEvaluator:
    def __init__(self, normalization: tuple[float, float] = (1.0, 0.0), device: str | None = None) -> None:
        self._normalization = normalization
        self._device = device
        self._compiled: dict[tuple, Any] = {}  # one compiled counter per model, rules and ignored labels

    def evaluate(self, model: Any, stream: Any, rules: Sequence[DecisionRule], ignore_labels: Sequence[int] = (),
                 max_batches: int | None = None) -> Iterator[ImageEvaluation]:
        key = (id(model), tuple(rules), tuple(ignore_labels))
        if key not in self._compiled:
            self._compiled[key] = _counter(model, rules, ignore_labels)
        count = self._compiled[key]
        index = 0
        with device_scope(self._device):
            for batch_index, (images, masks) in enumerate(stream):
                if max_batches is not None and batch_index >= max_batches:
                    break
                counts, predicted, peaks, histograms = count(images, masks)
                for position, (rows, peak, histogram) in enumerate(zip(counts.numpy(), peaks.numpy(),
                                                                       histograms.numpy())):  # (rules, classes, 4)
                    yield ImageEvaluation.from_class_counts(
                        rows, peak, self._picture(index, images, masks, predicted, position), histogram)
                    index += 1

    def maps(self, engine: InferenceEngine, stream: Any, max_batches: int | None = None,
             ignore_labels: Sequence[int] = ()) -> Iterator[EvaluatedMap]:
        """The engine's (H, W, K) probabilities per image, cut to the image's own size."""
        for images, masks in self._batches(stream, max_batches):
            maps, classified = engine.outputs(images)
            for position, (image, mask, probabilities) in enumerate(zip(images, masks, maps)):
                found = self._labelled(image, mask, ignore_labels)
                height, width = found.truth.shape[:2]
                yield EvaluatedMap(image=found.image, probabilities=probabilities[:height, :width], truth=found.truth,
                                   counted=found.counted,
                                   image_probabilities=None if classified is None else classified[position])

    def images(self, stream: Any, max_batches: int | None = None,
               ignore_labels: Sequence[int] = ()) -> Iterator[LabelledImage]:
        """Each image as read (uint8 gray at its own size) with its truth, for an engine run elsewhere."""
        for images, masks in self._batches(stream, max_batches):
            for image, mask in zip(images, masks):
                yield self._labelled(image, mask, ignore_labels)

    @staticmethod
    def _batches(stream: Any, max_batches: int | None) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        for batch_index, (images, masks) in enumerate(stream):
            if max_batches is not None and batch_index >= max_batches:
                break
            yield images.numpy(), masks.numpy()

    def _labelled(self, image: np.ndarray, mask: np.ndarray, ignore_labels: Sequence[int]) -> LabelledImage:
        height, width = unpadded_size(mask[..., 0])
        mask = mask[:height, :width]
        truth = binarize_truth(mask)
        counted = (mask > PAD_LABEL) & ~np.isin(truth.astype(np.int32), list(ignore_labels))
        return LabelledImage(image=denormalize(image[:height, :width, 0], self._normalization), truth=truth,
                             counted=counted)

    def _picture(self, index: int, images: Any, masks: Any, predicted: Any, position: int):
        """The sample picture of one image of the batch, built only when the keeper asks."""

        def picture() -> SamplePicture:  # every class together
            mask = masks[position].numpy().max(axis=-1)
            height, width = unpadded_size(mask)
            return SamplePicture(
                index=index,
                image=denormalize(images[position, :height, :width, 0].numpy(), self._normalization),
                truth=binarize_truth(mask[:height, :width]),
                prediction=predicted[position, :height, :width].numpy().any(axis=-1),
            )

        return picture
