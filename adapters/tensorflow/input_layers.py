"""What the network does to its input before the first block, inside the model so that every
engine and export runs it too (no preprocessing to drift between training and the line).

- Per-image standardization (`model.input_standardization: per_image`): each image, channel by
  channel, to zero mean and unit spread over its own pixels, so that photographs taken at
  another exposure or gain look alike to the first convolution.
- Downscaling (`model.input_downscale: k`): the network runs at 1/k of the pixel scale (k x k
  average pooling in, bilinear upsampling of the logits out), for k times the receptive field
  at a k-squared smaller cost when defects are wide enough to survive it.
- Refinement (`model.refine_filters: F`, with a downscale): two 3 x 3 convolutions of F filters at
  the input's own scale over the (standardized) image and the upsampled logits, whose 1 x 1
  output, zero at the start, is added to those logits: the coarse network says where, the image's
  own pixels sharpen the edges of defects thinner than the coarse scale keeps.
"""

from __future__ import annotations

from typing import Any

# Spread below this (in normalized units) is treated as flat: a blank image is not amplified into noise.
MIN_SPREAD = 1e-3


def standardization_layer() -> Any:
    import keras

    class PerImageStandardization(keras.layers.Layer):
        def call(self, x):
            ops = keras.ops
            mean = ops.mean(x, axis=(1, 2), keepdims=True)
            spread = ops.sqrt(ops.mean(ops.square(x - mean), axis=(1, 2), keepdims=True))
            return (x - mean) / ops.maximum(spread, MIN_SPREAD)

        def compute_output_shape(self, input_shape):
            return input_shape

    return PerImageStandardization


def standardized(x: Any, standardization: str) -> Any:
    """The NHWC input after per-image standardization (or as it is)."""
    if standardization == "per_image":
        x = standardization_layer()(dtype="float32", name="input_standardization")(x)
    return x


def downscaled(x: Any, downscale: int) -> Any:
    """The NHWC input at 1/downscale of its pixel scale (average pooling)."""
    import keras

    if downscale > 1:
        x = keras.layers.AveragePooling2D(downscale, downscale, dtype="float32", name="input_downscale")(x)
    return x


def upscale_layer() -> Any:
    import keras

    class BilinearUpscale(keras.layers.Layer):
        """Bilinear upsampling by a whole factor for inputs of any size (Keras' UpSampling2D
        needs the size when the graph is built)."""

        def __init__(self, factor: int, **kwargs) -> None:
            super().__init__(**kwargs)
            self.factor = factor

        def call(self, x):
            import tensorflow as tf

            size = tf.shape(x)[1:3] * self.factor
            return tf.cast(tf.image.resize(x, size, method="bilinear"), x.dtype)

        def compute_output_shape(self, input_shape):
            n, h, w, c = input_shape
            return (n, None if h is None else h * self.factor, None if w is None else w * self.factor, c)

        def get_config(self):
            return {**super().get_config(), "factor": self.factor}

    return BilinearUpscale


def restore_scale(logits: Any, downscale: int) -> Any:
    """NHWC logits back at the input's pixel scale."""
    if downscale <= 1:
        return logits
    return upscale_layer()(downscale, dtype="float32", name="output_upscale")(logits)


def refined(logits: Any, image: Any, filters: int, policy: str, kernel_init: Any, activation) -> Any:
    """NHWC logits at the input's scale plus a correction computed there from the image and them."""
    import keras

    layers = keras.layers
    x = layers.Concatenate(dtype=policy, name="refine_input")([image, logits])
    for index in range(2):
        x = layers.Conv2D(filters, 3, padding="same", kernel_initializer=kernel_init, dtype=policy,
                          name=f"refine_conv{index}")(x)
        x = activation(f"refine_conv{index}_act")(x)
    correction = layers.Conv2D(logits.shape[-1], 1, kernel_initializer="zeros", dtype="float32",
                               name="refine_output")(x)
    return layers.Add(dtype="float32", name="refined_logits")([logits, correction])
