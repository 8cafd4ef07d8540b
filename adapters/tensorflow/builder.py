"""KerasUNetBuilder: the reference UNet topology from a UNetSpec, as a Keras functional model.

The model always takes NHWC images and returns NHWC logits (one channel per defect class, float32;
with model.classifier_head also (N, K) image logits, adapters.tensorflow.outputs), so input
pipelines do not depend on the data format; with channels_first the body runs in NCHW
between two transposes, as the reference's layers did.
"""

from __future__ import annotations

import math
from typing import Any

from unet_defects.adapters.tensorflow.encoders import backbone_features
from unet_defects.adapters.tensorflow.input_layers import downscaled, refined, restore_scale, standardized
from unet_defects.domain.topology import CONV_KERNELS, UNetSpec


def _keras():
    import keras

    return keras


def _initializer(name: str, params: dict | None) -> Any:
    if not params:
        return name
    return _keras().initializers.get({"class_name": name, "config": dict(params)})


def _activation(spec: UNetSpec, dtype: str, name: str):
    layers = _keras().layers
    params = dict(spec.nonlinearity_params)
    if spec.nonlinearity == "LeakyReLU" and "alpha" in params:
        # TF1/Keras 2 spelled the slope `alpha`; Keras 3 calls it `negative_slope`.
        params["negative_slope"] = params.pop("alpha")
    return getattr(layers, spec.nonlinearity)(**params, dtype=dtype, name=name)


class KerasUNetBuilder:
    """Builds the reference UNet; `precision` is a Keras dtype policy name."""

    def __init__(self, precision: str = "float32", data_format: str | None = None, seed: int | None = None,
                 normalization: tuple[float, float] = (1.0, 0.0)) -> None:
        self._precision = precision
        self._data_format = data_format
        self._seed = seed
        self._normalization = normalization  # how inputs were scaled: backbones undo it for their own

    def name(self) -> str:
        return "keras"

    def build(self, spec: UNetSpec) -> Any:
        keras = _keras()
        if self._seed is not None:
            keras.utils.set_random_seed(self._seed)  # same initial weights on every build

        layers = keras.layers
        data_format = self._data_format or spec.data_format
        policy = self._precision
        axis = 1 if data_format == "channels_first" else -1
        kernel_init = _initializer(spec.initializer, spec.initializer_params)
        bias_init = _initializer(spec.bias_initializer, spec.bias_initializer_params)

        def conv(x, filters: int, kernel: int, name: str, dtype: str = policy):
            return layers.Conv2D(
                filters, kernel, strides=1, padding="same", data_format=data_format,
                use_bias=spec.enable_bias, kernel_initializer=kernel_init,
                bias_initializer=bias_init, dtype=dtype, name=name,
            )(x)

        def normalized(x, filters: int, name: str):
            if spec.normalization == "batch":
                # Moving statistics that settle within a short CPU run (Keras' default 0.99 needs
                # several hundred steps before evaluation sees them).
                return layers.BatchNormalization(axis=axis, momentum=0.9, dtype=policy, name=f"{name}_bn")(x)
            if spec.normalization == "group":
                groups = math.gcd(filters, spec.normalization_groups)  # groups must divide the channels
                return layers.GroupNormalization(groups=groups, axis=axis, dtype=policy, name=f"{name}_gn")(x)
            return x

        def block(x, filters: int, prefix: str):
            for index, kind in enumerate(spec.convs_per_block):
                x = conv(x, filters, CONV_KERNELS[kind], f"{prefix}_{index}")
                x = normalized(x, filters, f"{prefix}_{index}")
                x = _activation(spec, policy, f"{prefix}_{index}_act")(x)
            return x

        height, width, channels = spec.image_shape
        inputs = keras.Input(shape=(None, None, channels), name="image", dtype="float32")
        if spec.backbone is not None:
            # Keras Applications backbones run channels_last.
            data_format, axis = "channels_last", -1
            x, stage_skips = backbone_features(spec, inputs, self._normalization, policy)
        else:
            image = standardized(inputs, spec.input_standardization)
            x, stage_skips = self._own_encoder(spec, downscaled(image, spec.input_downscale), data_format, conv,
                                               normalized, block)
        bottleneck = x
        for index, (filters, skip) in enumerate(zip(spec.decoder_filters, stage_skips)):
            x = layers.Conv2DTranspose(
                filters, 2, strides=2, padding="same", data_format=data_format,
                use_bias=spec.enable_bias, kernel_initializer=kernel_init,
                bias_initializer=bias_init, dtype=policy, name=f"dec_convt{index}",
            )(x)
            if spec.skip_connect and skip is not None:
                x = layers.Concatenate(axis=axis, dtype=policy, name=f"dec_concat{index}")([x, skip])
            x = block(x, filters, f"dec_conv{index}")
        # Logits stay float32 whatever the compute precision, for a stable loss.
        logits = conv(x, spec.defect_channels, 1, "output_conv", dtype="float32")
        if data_format == "channels_first":
            logits = layers.Permute((2, 3, 1), dtype="float32", name="to_channels_last")(logits)
        logits = restore_scale(logits, spec.input_downscale)
        if spec.refine_filters:
            logits = refined(logits, image, spec.refine_filters, policy, kernel_init,
                             lambda name: _activation(spec, policy, name))
        if not spec.classifier_head:
            return keras.Model(inputs, logits, name="unet")
        # The image-level head: each bottleneck channel's mean and max over the pixels (the max
        # finds a small defect the mean dilutes), one float32 logit per class.
        pooled = layers.Concatenate(dtype=policy, name="classifier_pool")([
            layers.GlobalAveragePooling2D(data_format=data_format, dtype=policy, name="classifier_mean")(bottleneck),
            layers.GlobalMaxPooling2D(data_format=data_format, dtype=policy, name="classifier_max")(bottleneck)])
        image_logits = layers.Dense(spec.defect_channels, use_bias=spec.enable_bias, kernel_initializer=kernel_init,
                                    bias_initializer=bias_init, dtype="float32", name="classifier")(pooled)
        return keras.Model(inputs, [logits, image_logits], name="unet")

    def _own_encoder(self, spec: UNetSpec, inputs, data_format: str, conv, normalized, block):
        """The reference's encoder: blocks and max-pooling; (bottleneck, skips per decoder stage)."""
        layers = _keras().layers
        policy = self._precision
        x = inputs
        if data_format == "channels_first":
            x = layers.Permute((3, 1, 2), dtype=policy, name="to_channels_first")(x)
        if spec.initial_conv_filters:
            x = conv(x, spec.initial_conv_filters, 3, "initial_conv")
            x = normalized(x, spec.initial_conv_filters, "initial_conv")
            x = _activation(spec, policy, "initial_conv_act")(x)
        skips = []
        for index, filters in enumerate(spec.encoder_filters[:-1]):
            x = block(x, filters, f"enc_conv{index}")
            skips.append(x)
            x = layers.MaxPooling2D(2, 2, data_format=data_format, dtype=policy, name=f"pool{index}")(x)
        x = block(x, spec.encoder_filters[-1], f"bottleneck_conv{spec.poolings}")
        return x, skips[::-1]
