"""The UNet topology of the reference, as a frozen spec with its parameter count and FLOPs."""

from __future__ import annotations

from typing import Any, ClassVar

import attrs

from unet_defects.domain.encoders import BACKBONE_DECODER_STAGES, BACKBONES, ENCODERS, EXAMPLE_DECODER, Backbone
from unet_defects.domain.errors import ConfigError
from unet_defects.domain.validation import (
    class_count,
    image_shape,
    int_at_least,
    int_tuple,
    is_bool,
    is_mapping,
    is_str,
    one_of,
    optional,
    to_tuple,
)

# Keras activation layers the reference could name through getattr(tf.keras.layers, name).
NONLINEARITIES = ("ReLU", "LeakyReLU", "PReLU", "ELU")
INITIALIZERS = (
    "glorot_uniform", "glorot_normal", "he_uniform", "he_normal", "lecun_uniform",
    "lecun_normal", "zeros", "ones", "constant", "random_uniform", "random_normal",
    "truncated_normal", "orthogonal", "variance_scaling",
)
CONV_KERNELS = {"3x3_conv": 3, "1x1_conv": 1}
DATA_FORMATS = ("channels_first", "channels_last")
# After each block convolution, before its nonlinearity: none (the reference), batch or group
# normalization. Weights per channel: batch keeps a scale, an offset and two moving statistics;
# group a scale and an offset.
NORMALIZATIONS = ("none", "batch", "group")
NORMALIZATION_WEIGHTS = {"none": 0, "batch": 4, "group": 2}
# What the network does to its input first (adapters.tensorflow.input_layers): nothing, or each
# image to zero mean and unit spread over its own pixels.
INPUT_STANDARDIZATIONS = ("none", "per_image")
INPUT_DOWNSCALES = (1, 2, 4)


def _conv_types(instance: Any, attribute: Any, value: Any) -> None:
    if not isinstance(value, tuple) or not value:
        raise ConfigError(f"model.{attribute.name}: expected a non-empty list, got {value!r}")
    for item in value:
        if not isinstance(item, str) or item not in CONV_KERNELS:
            raise ConfigError(
                f"model.{attribute.name}: unknown convolution {item!r}; expected 3x3_conv or 1x1_conv"
            )


def _show(value: Any) -> str:
    return str(list(value)) if isinstance(value, tuple) else str(value)


@attrs.frozen(kw_only=True)
class ConvLayer:
    """One weight layer of the network: what the parameter count and FLOPs are made of."""

    name: str
    kernel: int
    in_channels: int
    out_channels: int
    out_height: int
    out_width: int
    bias: bool
    transposed: bool = False
    normalization: str = "none"

    @property
    def parameters(self) -> int:
        weights = self.kernel * self.kernel * self.in_channels * self.out_channels
        normalized = NORMALIZATION_WEIGHTS[self.normalization] * self.out_channels
        return weights + (self.out_channels if self.bias else 0) + normalized

    @property
    def flops(self) -> int:
        # A transposed 2x2/2 conv touches each output pixel with one kernel tap.
        taps = 1 if self.transposed else self.kernel * self.kernel
        return 2 * self.out_height * self.out_width * taps * self.in_channels * self.out_channels


@attrs.frozen(kw_only=True)
class UNetSpec:
    """Every `model` key of the reference that shapes the network, validated."""

    SECTION: ClassVar[str] = "model"

    image_shape: tuple[int, ...] = attrs.field(converter=to_tuple, validator=image_shape)
    encoder_filters: tuple[int, ...] = attrs.field(
        default=(32, 64, 128, 256), converter=to_tuple, validator=int_tuple(1, min_length=2)
    )
    decoder_filters: tuple[int, ...] = attrs.field(
        default=(128, 64, 32), converter=to_tuple, validator=int_tuple(1, min_length=1)
    )
    convs_per_block: tuple[str, ...] = attrs.field(
        default=("3x3_conv", "3x3_conv"), converter=to_tuple, validator=_conv_types
    )
    skip_connect: bool = attrs.field(default=True, validator=is_bool)
    enable_bias: bool = attrs.field(default=True, validator=is_bool)
    data_format: str = attrs.field(default="channels_first", validator=one_of(DATA_FORMATS))
    downscale_method: str = attrs.field(default="max_pool", validator=one_of(("max_pool",)))
    nonlinearity: str = attrs.field(default="ReLU", validator=one_of(NONLINEARITIES))
    nonlinearity_params: dict = attrs.field(factory=dict, validator=is_mapping)
    initializer: str = attrs.field(default="glorot_uniform", validator=one_of(INITIALIZERS))
    initializer_params: dict | None = attrs.field(default=None, validator=optional(is_mapping))
    bias_initializer: str = attrs.field(default="zeros", validator=one_of(INITIALIZERS))
    bias_initializer_params: dict | None = attrs.field(default=None, validator=optional(is_mapping))
    initial_conv_filters: int | None = attrs.field(default=None, validator=optional(int_at_least(1)))
    num_classes: int = attrs.field(default=2, validator=class_count)  # background + one channel per defect class
    # Beyond the reference: normalization after each block convolution (none keeps the reference).
    normalization: str = attrs.field(default="none", validator=one_of(NORMALIZATIONS))
    normalization_groups: int = attrs.field(default=8, validator=int_at_least(1))
    # Beyond the reference: a Keras Applications backbone as the encoder (domain.encoders), its
    # weights (imagenet, none, or a weights file), and steps during which it is not trained.
    encoder: str = attrs.field(default="unet", validator=one_of(ENCODERS))
    encoder_weights: str = attrs.field(default="imagenet", validator=is_str)
    freeze_encoder_steps: int = attrs.field(default=0, validator=int_at_least(0))
    # Beyond the reference: per-image standardization of the input, and the network run at 1/k
    # of the pixel scale (average pooling in, bilinear upsampling of the logits out).
    input_standardization: str = attrs.field(default="none", validator=one_of(INPUT_STANDARDIZATIONS))
    input_downscale: int = attrs.field(default=1, validator=one_of(INPUT_DOWNSCALES))
    # Beyond the reference: an image-level head on the bottleneck (its mean and max over the
    # pixels, then one sigmoid per defect class): "has this part a defect of class k?".
    classifier_head: bool = attrs.field(default=False, validator=is_bool)
    # Beyond the reference: with input_downscale, a refinement at the input's own scale (two 3 x 3
    # convolutions of this many filters over the image and the upsampled logits); 0: none.
    refine_filters: int = attrs.field(default=0, validator=int_at_least(0))

    def __attrs_post_init__(self) -> None:
        if self.encoder != "unet":
            self._check_backbone()
        elif len(self.encoder_filters) != len(self.decoder_filters) + 1:
            raise ConfigError(
                "model.decoder_filters: must be one shorter than model.encoder_filters "
                f"(the last encoder entry is the bottleneck); got {len(self.encoder_filters)} encoder "
                f"and {len(self.decoder_filters)} decoder entries"
            )
        if self.refine_filters and self.input_downscale == 1:
            raise ConfigError("model.refine_filters: refines the output of a network run at a coarser scale; "
                              "it needs model.input_downscale 2 or 4")
        stride = self.stride
        height, width, _ = self.image_shape
        for side_name, side in (("height", height), ("width", width)):
            if side % stride:
                raise ConfigError(
                    f"train_input.image_shape: {side_name} {side} is not divisible by {stride} "
                    f"(2 to the power of the {self.poolings} poolings"
                    + (f", times model.input_downscale {self.input_downscale})" if self.input_downscale > 1 else ")")
                )

    def _check_backbone(self) -> None:
        if len(self.decoder_filters) != BACKBONE_DECODER_STAGES:
            raise ConfigError(
                f"model.decoder_filters: a {self.encoder} encoder halves the resolution {BACKBONE_DECODER_STAGES} "
                f"times, so its decoder needs {BACKBONE_DECODER_STAGES} stages, e.g. {EXAMPLE_DECODER}; "
                f"got {list(self.decoder_filters)}"
            )
        if self.initial_conv_filters:
            raise ConfigError(f"model.initial_conv_filters: not used with model.encoder {self.encoder}; remove it")
        for key, plain in (("input_standardization", "none"), ("input_downscale", 1)):
            if getattr(self, key) != plain:
                raise ConfigError(f"model.{key}: not used with model.encoder {self.encoder} (a backbone takes its "
                                  "own preprocessing); remove it")

    @property
    def backbone(self) -> Backbone | None:
        return BACKBONES.get(self.encoder)

    # Keys that change the weights a checkpoint holds (data_format and initializers do not).
    WEIGHT_KEYS: ClassVar[tuple[str, ...]] = (
        "encoder_filters", "decoder_filters", "convs_per_block", "skip_connect", "enable_bias",
        "initial_conv_filters", "nonlinearity", "normalization", "encoder", "classifier_head", "refine_filters",
    )

    def weight_differences(self, other: UNetSpec) -> list[str]:
        """`key old -> new` for every key whose change makes checkpoints incompatible."""
        changes = [
            f"model.{key} {_show(getattr(self, key))} -> {_show(getattr(other, key))}"
            for key in self.WEIGHT_KEYS
            if getattr(self, key) != getattr(other, key)
        ]
        if self.in_channels != other.in_channels:
            changes.append(f"train_input.image_shape channels {self.in_channels} -> {other.in_channels}")
        if self.defect_channels != other.defect_channels:
            changes.append(f"train_input defect classes {self.defect_channels} -> {other.defect_channels}")
        return changes

    @property
    def poolings(self) -> int:
        return BACKBONE_DECODER_STAGES if self.backbone else len(self.encoder_filters) - 1

    @property
    def stride(self) -> int:
        """Image sides must be multiples of this: the total downsampling factor."""
        return 2**self.poolings * self.input_downscale

    @property
    def defect_channels(self) -> int:
        """The logit channels: one sigmoid per defect class (multi-label)."""
        return self.num_classes - 1

    @property
    def in_channels(self) -> int:
        return self.image_shape[2]

    def layers(self) -> list[ConvLayer]:
        """The weight layers in build order, with their output sizes."""
        height, width, channels = self.image_shape
        height, width = height // self.input_downscale, width // self.input_downscale
        layers: list[ConvLayer] = []

        def conv(name: str, kernel: int, cin: int, cout: int, h: int, w: int, transposed=False,
                 normalized: bool = False) -> None:
            layers.append(
                ConvLayer(
                    name=name, kernel=kernel, in_channels=cin, out_channels=cout,
                    out_height=h, out_width=w, bias=self.enable_bias, transposed=transposed,
                    normalization=self.normalization if normalized else "none",
                )
            )

        def block(prefix: str, cin: int, cout: int, h: int, w: int) -> int:
            for index, kind in enumerate(self.convs_per_block):
                conv(f"{prefix}_{index}", CONV_KERNELS[kind], cin, cout, h, w, normalized=True)
                cin = cout
            return cout

        if self.backbone:
            self._backbone_decoder(conv, block)
            return layers
        if self.initial_conv_filters:
            conv("initial_conv", 3, channels, self.initial_conv_filters, height, width, normalized=True)
            channels = self.initial_conv_filters
        skips: list[int] = []
        for index, filters in enumerate(self.encoder_filters[:-1]):
            channels = block(f"enc_conv{index}", channels, filters, height, width)
            skips.append(channels)
            height, width = height // 2, width // 2
        channels = block(f"bottleneck_conv{self.poolings}", channels, self.encoder_filters[-1], height, width)
        for index, filters in enumerate(self.decoder_filters):
            height, width = height * 2, width * 2
            conv(f"dec_convt{index}", 2, channels, filters, height, width, transposed=True)
            channels = filters + (skips[-1 - index] if self.skip_connect else 0)
            channels = block(f"dec_conv{index}", channels, filters, height, width)
        conv("output_conv", 1, channels, self.defect_channels, height, width)
        self._classifier(conv, self.encoder_filters[-1])
        if self.refine_filters:  # at the input's own scale
            full_height, full_width, _ = self.image_shape
            inputs = self.in_channels + self.defect_channels
            for index in range(2):
                conv(f"refine_conv{index}", 3, inputs if index == 0 else self.refine_filters, self.refine_filters,
                     full_height, full_width)
            conv("refine_output", 1, self.refine_filters, self.defect_channels, full_height, full_width)
        return layers

    def _classifier(self, conv, bottleneck: int) -> None:
        """The head's one dense layer: the pooled mean and max of each bottleneck channel in."""
        if self.classifier_head:
            conv("classifier", 1, 2 * bottleneck, self.defect_channels, 1, 1)

    def _backbone_decoder(self, conv, block) -> None:
        """The decoder's weight layers over a backbone: a transposed conv per halving undone, the
        backbone's skip feature at that resolution (when it has one), the block's convs."""
        height, width, _ = self.image_shape
        backbone = self.backbone
        assert backbone is not None  # layers() calls this only with a backbone
        down, channels = backbone.bottleneck
        for index, filters in enumerate(self.decoder_filters):
            down //= 2
            conv(f"dec_convt{index}", 2, channels, filters, height // down, width // down, transposed=True)
            skip = backbone.skip_channels(down) if self.skip_connect else 0
            channels = block(f"dec_conv{index}", filters + skip, filters, height // down, width // down)
        conv("output_conv", 1, channels, self.defect_channels, height, width)
        self._classifier(conv, backbone.bottleneck[1])

    def parameter_count(self) -> int:
        backbone = self.backbone.parameters if self.backbone else 0
        return backbone + sum(layer.parameters for layer in self.layers())

    def forward_flops(self) -> int:
        """Multiply-adds x 2 of the convolutions for one image (bias and activations ignored)."""
        height, width, _ = self.image_shape
        backbone = int(self.backbone.forward_flops_per_pixel * height * width) if self.backbone else 0
        return backbone + sum(layer.flops for layer in self.layers())

    def training_flops(self) -> int:
        """Forward plus backward (gradients of inputs and of weights): about 3x the forward pass."""
        return 3 * self.forward_flops()
