"""Keras Applications backbones as the UNet's encoder (model.encoder), with their weights.

- Gray input is repeated to the three channels the backbones were trained on (their first
  convolution is kept as it is); three-channel input passes as it is.
- The project's normalized input is turned back into 0..255 pixels and given each backbone's
  own preprocessing (caffe for VGG16 and ResNet50, [-1, 1] for MobileNetV2; EfficientNet
  rescales inside itself), so pretrained weights see what they were trained on.
- model.encoder_weights: `imagenet` downloads the weights from Keras' own host on first use
  (an internet connection is needed once; they are cached in ~/.keras/models), `none` starts
  from random weights, and a path loads a weights file of the backbone (Keras' .weights.h5).
- The backbone is the layer named `encoder` of the model (for model.freeze_encoder_steps).
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

from unet_defects.domain.errors import ConfigError, UnetError
from unet_defects.domain.topology import UNetSpec

ENCODER_LAYER = "encoder"
CAFFE_MEAN_BGR = (103.939, 116.779, 123.68)
# encoder -> (keras.applications class, preprocessing, skip layers from the finest, deepest layer)
KERAS_BACKBONES = {
    "vgg16": ("VGG16", "caffe", ("block1_conv2", "block2_conv2", "block3_conv3", "block4_conv3", "block5_conv3"),
              "block5_pool"),
    "resnet50": ("ResNet50", "caffe", ("conv1_relu", "conv2_block3_out", "conv3_block4_out", "conv4_block6_out"),
                 "conv5_block3_out"),
    "efficientnetb0": ("EfficientNetB0", "raw", ("block2a_expand_activation", "block3a_expand_activation",
                                                 "block4a_expand_activation", "block6a_expand_activation"),
                       "top_activation"),
    "mobilenetv2": ("MobileNetV2", "tf", ("block_1_expand_relu", "block_3_expand_relu", "block_6_expand_relu",
                                          "block_13_expand_relu"), "out_relu"),
}


@contextlib.contextmanager
def _global_policy(policy: str):
    """Keras Applications build their layers in the global dtype policy."""
    import keras

    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(policy)
    try:
        yield
    finally:
        keras.config.set_dtype_policy(previous)


def load_backbone(spec: UNetSpec, policy: str) -> Any:
    """The backbone without its classifier, with the weights model.encoder_weights names."""
    import keras

    class_name = KERAS_BACKBONES[spec.encoder][0]
    application = getattr(keras.applications, class_name)
    weights = spec.encoder_weights
    with _global_policy(policy):
        if weights == "imagenet":
            try:
                return application(include_top=False, weights="imagenet", input_shape=(None, None, 3))
            except Exception as error:  # a download that fails raises several kinds of errors
                reason = str(error).splitlines()[0][:160] if str(error) else type(error).__name__
                raise UnetError(
                    f"model.encoder_weights: the imagenet weights of {class_name} download from Keras' host on "
                    f"first use, which failed ({reason}); download them once with internet (they are cached "
                    "in ~/.keras/models), or give a weights file, or none") from None
        backbone = application(include_top=False, weights=None, input_shape=(None, None, 3))
    if weights != "none":
        path = Path(weights)
        if not path.is_file():
            raise ConfigError(f"model.encoder_weights: {weights}: no such weights file (or use imagenet or none)")
        try:
            backbone.load_weights(str(path))
        except Exception as error:  # a file of another network or format fails in several ways
            raise UnetError(f"{path}: not weights of {class_name} without its classifier "
                            f"({str(error).splitlines()[0][:160]})") from None
    return backbone


def _preprocessing_layer():
    """A layer (not a Lambda: it serializes) from the project's normalized input to what the
    backbone's own training saw: 0..255 pixels, gray repeated to RGB, then caffe (BGR minus the
    ImageNet mean), tf ([-1, 1]) or raw."""
    import keras

    class BackbonePreprocessing(keras.layers.Layer):
        def __init__(self, scale: float, offset: float, mode: str, gray: bool, **kwargs) -> None:
            super().__init__(**kwargs)
            self.scale, self.offset, self.mode, self.gray = scale, offset, mode, gray

        def call(self, x):
            ops = keras.ops
            x = (x - self.offset) / self.scale
            if self.gray:
                x = ops.concatenate([x, x, x], axis=-1)
            if self.mode == "caffe":
                return ops.flip(x, axis=-1) - ops.convert_to_tensor(CAFFE_MEAN_BGR, dtype=x.dtype)
            if self.mode == "tf":
                return x / 127.5 - 1.0
            return x

        def compute_output_shape(self, input_shape):
            return (*input_shape[:-1], 3)

        def get_config(self):
            return {**super().get_config(), "scale": self.scale, "offset": self.offset, "mode": self.mode,
                    "gray": self.gray}

    return BackbonePreprocessing


def backbone_features(spec: UNetSpec, inputs: Any, normalization: tuple[float, float], policy: str):
    """(deepest feature, skip features for the decoder's stages from the deepest, None where the
    backbone has no feature at that resolution) of the normalized `inputs`."""
    import keras

    channels = spec.in_channels
    if channels not in (1, 3):
        raise ConfigError(f"train_input.image_shape: model.encoder {spec.encoder} takes 1 (gray) or 3 channels, "
                          f"got {channels}")
    _, mode, skip_layers, deepest = KERAS_BACKBONES[spec.encoder]
    scale, offset = normalization
    pixels = _preprocessing_layer()(scale, offset, mode, gray=channels == 1, name="backbone_preprocessing")(inputs)
    backbone = load_backbone(spec, policy)
    encoder = keras.Model(backbone.input, [backbone.get_layer(name).output for name in (*skip_layers, deepest)],
                          name=ENCODER_LAYER)
    *skips, x = encoder(pixels)
    by_downsampling = dict(zip((down for down, _ in spec.backbone.skips), skips))
    stages = [by_downsampling.get(spec.backbone.stride // 2 ** (index + 1)) for index in range(len(spec.decoder_filters))]
    return x, stages
