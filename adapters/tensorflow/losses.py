"""unet_defects.domain.losses in TensorFlow: float32 logits and 0/1 masks in (one channel per defect class; the
region losses per class, then their mean), a float32 scalar out."""

from __future__ import annotations

from typing import Any

from unet_defects.domain.image_labels import UNKNOWN_CUTOFF
from unet_defects.domain.losses import LossSpec
from unet_defects.domain.masks import TRUTH_THRESHOLD


def make_loss(spec: LossSpec, partial: bool = False) -> Any:
    """`partial`: masks may hold parts with an image label only (UNKNOWN_DEFECT), whose pixels
    count nowhere; without it the loss is computed exactly as it always was."""
    import tensorflow as tf

    pos_weight = 1.0 if spec.pos_weight is None else spec.pos_weight

    def cross_entropy(labels, logits):
        if pos_weight == 1.0:
            return tf.nn.sigmoid_cross_entropy_with_logits(labels=labels, logits=logits)
        return tf.nn.weighted_cross_entropy_with_logits(labels=labels, logits=logits, pos_weight=pos_weight)

    def batch_sum(values):
        """Over the batch's pixels: per class with several channels (their mean is taken), a
        scalar with one, summed as it always was so one-class training keeps its weights."""
        return tf.reduce_sum(values) if values.shape[-1] == 1 else tf.reduce_sum(values, axis=[0, 1, 2])

    def loss(labels, logits):
        labels = tf.cast(labels, tf.float32)
        logits = tf.cast(logits, tf.float32)
        weight = tf.cast(labels >= 0.0, tf.float32) if partial else None
        if weight is not None:
            labels = labels * weight

        def mean(values):
            if weight is None:
                return tf.reduce_mean(values)
            return tf.reduce_sum(values * weight) / tf.maximum(tf.reduce_sum(weight), 1.0)

        def soft(probabilities):
            return probabilities if weight is None else probabilities * weight

        def dice():
            probabilities = soft(tf.sigmoid(logits))
            overlap = batch_sum(probabilities * labels)
            total = batch_sum(probabilities) + batch_sum(labels)
            return tf.reduce_mean(1.0 - (2.0 * overlap + spec.dice_smooth) / (total + spec.dice_smooth))

        def tversky():
            probabilities = soft(tf.sigmoid(logits))
            tp = batch_sum(probabilities * labels)
            fp = batch_sum(probabilities * (1.0 - labels) if weight is None else probabilities * (weight - labels))
            fn = batch_sum((1.0 - probabilities) * labels)
            smooth = spec.dice_smooth
            return tf.reduce_mean(1.0 - (tp + smooth) / (tp + spec.tversky_alpha * fp + spec.tversky_beta * fn + smooth))

        if spec.loss == "bce":
            return mean(cross_entropy(labels, logits))
        if spec.loss == "dice":
            return dice()
        if spec.loss == "bce_dice":
            return mean(cross_entropy(labels, logits)) + spec.dice_weight * dice()
        if spec.loss == "tversky":
            return tversky()
        if spec.loss == "bce_tversky":
            return mean(cross_entropy(labels, logits)) + spec.dice_weight * tversky()
        probabilities = tf.sigmoid(logits)
        p_true = labels * probabilities + (1.0 - labels) * (1.0 - probabilities)
        return mean(tf.pow(1.0 - p_true, spec.focal_gamma) * cross_entropy(labels, logits))

    return loss


def image_labels(masks: Any) -> Any:
    """(N, H, W, K) masks -> (N, K) 0/1: the class is present when a pixel is a defect or the part
    carries only its defective label."""
    import tensorflow as tf

    masks = tf.cast(masks, tf.float32)
    present = tf.reduce_max(masks, axis=[1, 2]) >= TRUTH_THRESHOLD
    unknown = tf.reduce_min(masks, axis=[1, 2]) <= UNKNOWN_CUTOFF
    return tf.cast(present | unknown, tf.float32)


def make_image_loss(spec: LossSpec) -> Any:
    """classifier_loss_weight x the mean sigmoid cross-entropy of the head's (N, K) logits."""
    import tensorflow as tf

    def loss(masks, image_logits):
        entropy = tf.nn.sigmoid_cross_entropy_with_logits(labels=image_labels(masks),
                                                          logits=tf.cast(image_logits, tf.float32))
        return spec.classifier_loss_weight * tf.reduce_mean(entropy)

    return loss


def make_training_loss(spec: LossSpec, classifier_head: bool) -> Any:
    """(masks, the network's outputs) -> (loss, pixel logits): the pixel loss, plus the head's
    image loss when the network has one (its parts with image labels only then skip the pixel loss)."""
    import tensorflow as tf

    from unet_defects.adapters.tensorflow.outputs import split_outputs

    pixels = make_loss(spec, partial=classifier_head)
    images = make_image_loss(spec) if classifier_head else None

    def loss(masks, outputs):
        logits, image_logits = split_outputs(outputs)
        logits = tf.cast(logits, tf.float32)
        total = pixels(masks, logits)
        if images is not None:
            total = total + images(masks, image_logits)
        return total, logits

    return loss
