"""What the network does to its input before the first block, inside the model so that every
engine and export runs it too (no preprocessing to drift between training and the line).

- Per-image standardization (`model.input_standardization: per_image`): each image, channel by
  channel, to zero mean and unit spread over its own pixels, so that photographs taken at
  another exposure or gain look alike to the first convolution.
- Downscaling (`model.input_downscale: k`): the network runs at 1/k of the pixel scale (k x k
  average pooling in, bilinear upsampling of the logits out), for k times the receptive field
  at a k-squared smaller cost when defects are wide enough to survive it.
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


def prepare_input(x: Any, standardization: str, downscale: int) -> Any:
    """The NHWC input after standardization and pooling."""
    import keras

    if standardization == "per_image":
        x = standardization_layer()(dtype="float32", name="input_standardization")(x)
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
