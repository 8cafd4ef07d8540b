"""Mirror padding at the bottom and right, in the graph: up to a size (training crops of small
images) or up to a multiple of the network's stride (whole-image evaluation, native export).
domain/tiling.py is the same rule in numpy for predict."""

from __future__ import annotations

import tensorflow as tf


def mirror_pad_to(x: tf.Tensor, height, width) -> tf.Tensor:
    """(..., H, W, C) mirrored at the bottom and right until H >= height and W >= width; an
    image much smaller than that is mirrored repeatedly (one SYMMETRIC pad adds at most its size)."""
    rank = x.shape.rank
    lead = [[0, 0]] * (rank - 3)

    def short(x):
        shape = tf.shape(x)
        return tf.logical_or(shape[-3] < height, shape[-2] < width)

    def grow(x):
        shape = tf.shape(x)
        extra_h = tf.minimum(tf.maximum(height - shape[-3], 0), shape[-3])
        extra_w = tf.minimum(tf.maximum(width - shape[-2], 0), shape[-2])
        return [tf.pad(x, [*lead, [0, extra_h], [0, extra_w], [0, 0]], mode="SYMMETRIC")]

    invariant = tf.TensorShape([*x.shape[:-3], None, None, x.shape[-1]])
    return tf.while_loop(short, grow, [x], shape_invariants=[invariant])[0]


def stride_size(size: tf.Tensor, stride: int) -> tf.Tensor:
    """The smallest multiple of `stride` at or above each side in `size`."""
    return (size + stride - 1) // stride * stride


def mirror_pad_to_stride(x: tf.Tensor, stride: int) -> tf.Tensor:
    """(..., H, W, C) mirror-padded at the bottom and right to sides that are multiples of `stride`."""
    padded = stride_size(tf.shape(x)[-3:-1], stride)
    return mirror_pad_to(x, padded[0], padded[1])[..., : padded[0], : padded[1], :]
