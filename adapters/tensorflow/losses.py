"""domain.losses in TensorFlow: float32 logits and 0/1 masks in (one channel per defect class; the
region losses per class, then their mean), a float32 scalar out."""

from __future__ import annotations

from typing import Any

from domain.losses import LossSpec


def make_loss(spec: LossSpec) -> Any:
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

    def dice(labels, logits):
        probabilities = tf.sigmoid(logits)
        overlap = batch_sum(probabilities * labels)
        total = batch_sum(probabilities) + batch_sum(labels)
        return tf.reduce_mean(1.0 - (2.0 * overlap + spec.dice_smooth) / (total + spec.dice_smooth))

    def tversky(labels, logits):
        probabilities = tf.sigmoid(logits)
        tp = batch_sum(probabilities * labels)
        fp = batch_sum(probabilities * (1.0 - labels))
        fn = batch_sum((1.0 - probabilities) * labels)
        smooth = spec.dice_smooth
        return tf.reduce_mean(1.0 - (tp + smooth) / (tp + spec.tversky_alpha * fp + spec.tversky_beta * fn + smooth))

    def loss(labels, logits):
        labels = tf.cast(labels, tf.float32)
        logits = tf.cast(logits, tf.float32)
        if spec.loss == "bce":
            return tf.reduce_mean(cross_entropy(labels, logits))
        if spec.loss == "dice":
            return dice(labels, logits)
        if spec.loss == "bce_dice":
            return tf.reduce_mean(cross_entropy(labels, logits)) + spec.dice_weight * dice(labels, logits)
        if spec.loss == "tversky":
            return tversky(labels, logits)
        if spec.loss == "bce_tversky":
            return tf.reduce_mean(cross_entropy(labels, logits)) + spec.dice_weight * tversky(labels, logits)
        probabilities = tf.sigmoid(logits)
        p_true = labels * probabilities + (1.0 - labels) * (1.0 - probabilities)
        return tf.reduce_mean(tf.pow(1.0 - p_true, spec.focal_gamma) * cross_entropy(labels, logits))

    return loss
