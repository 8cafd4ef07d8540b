"""Pretrained encoders: each backbone builds at two sizes and from gray input, its parameters and
FLOPs are what the domain says, a weights file loads, and freezing keeps it still."""

import numpy as np
import pytest

from unet_defects.adapters.tensorflow.builder import KerasUNetBuilder
from unet_defects.domain.encoders import BACKBONES, EXAMPLE_DECODER
from unet_defects.domain.errors import ConfigError
from unet_defects.domain.topology import UNetSpec

pytestmark = pytest.mark.slow


def spec_for(encoder: str, shape=(64, 96, 1), **changes) -> UNetSpec:
    values = {"encoder_weights": "none", "decoder_filters": EXAMPLE_DECODER, "data_format": "channels_last", **changes}
    return UNetSpec(image_shape=shape, encoder=encoder, **values)


def conv_flops(model) -> int:
    """The forward FLOPs of a Keras model's convolutions, at its fixed input size."""
    total = 0
    for layer in model.layers:
        kind = type(layer).__name__
        if kind in ("Conv2D", "DepthwiseConv2D"):
            out = layer.output.shape
            taps = layer.kernel_size[0] * layer.kernel_size[1]
            cin = layer.input.shape[-1]
            per_output = taps * (1 if kind == "DepthwiseConv2D" else cin // layer.groups)
            total += 2 * out[1] * out[2] * out[3] * per_output
    return total


@pytest.mark.parametrize("encoder", sorted(BACKBONES))
def test_each_backbone_builds_from_gray_input_at_two_sizes_as_the_domain_counts_it(encoder):
    import keras

    spec = spec_for(encoder)
    model = KerasUNetBuilder("float32", "channels_last", normalization=(1 / 127.5, -1.0)).build(spec)
    assert model.count_params() == spec.parameter_count()
    for height, width in ((64, 96), (96, 64)):
        logits = model(np.zeros((1, height, width, 1), np.float32))
        assert logits.shape == (1, height, width, 1)
    # The domain's FLOPs per pixel: the backbone's convolutions, counted at 224x224.
    from unet_defects.adapters.tensorflow.encoders import KERAS_BACKBONES

    application = getattr(keras.applications, KERAS_BACKBONES[encoder][0])
    fixed = application(include_top=False, weights=None, input_shape=(224, 224, 3))
    assert conv_flops(fixed) == BACKBONES[encoder].forward_flops_per_pixel * 224 * 224


def test_a_backbone_needs_five_decoder_stages_and_one_or_three_channels():
    with pytest.raises(ConfigError, match=r"model.decoder_filters: a resnet50 encoder halves the resolution 5 times"):
        UNetSpec(image_shape=(64, 64, 1), encoder="resnet50")
    with pytest.raises(ConfigError, match="takes 1 \\(gray\\) or 3 channels"):
        KerasUNetBuilder("float32", "channels_last").build(spec_for("mobilenetv2", shape=(64, 64, 2)))


def test_weights_from_a_file_arrive_in_the_encoder(tmp_path):
    import keras

    backbone = keras.applications.MobileNetV2(include_top=False, weights=None, input_shape=(None, None, 3))
    rng = np.random.default_rng(0)
    backbone.set_weights([rng.normal(size=w.shape).astype(w.dtype) for w in backbone.get_weights()])
    path = tmp_path / "mobilenetv2.weights.h5"
    backbone.save_weights(str(path))
    model = KerasUNetBuilder("float32", "channels_last").build(spec_for("mobilenetv2", encoder_weights=str(path)))
    loaded = model.get_layer("encoder").get_weights()
    assert len(loaded) == len(backbone.get_weights())
    for a, b in zip(loaded, backbone.get_weights()):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(ConfigError, match="no such weights file"):
        KerasUNetBuilder().build(spec_for("mobilenetv2", encoder_weights=str(tmp_path / "absent.weights.h5")))


def test_a_frozen_encoder_keeps_its_weights_while_the_decoder_trains():
    import tensorflow as tf

    from unet_defects.adapters.tensorflow.training_setup import build_training
    from unet_defects.domain.losses import LossSpec
    from unet_defects.domain.training import OptimizerSpec

    spec = spec_for("mobilenetv2", shape=(32, 32, 1), normalization="none")
    model = KerasUNetBuilder("float32", "channels_last", seed=1).build(spec)
    encoder_before = [v.numpy().copy() for v in model.get_layer("encoder").trainable_variables]
    decoder = model.get_layer("dec_conv0_0")
    decoder_before = decoder.get_weights()[0].copy()
    setup = build_training(model, OptimizerSpec(learning_rate=1e-2), LossSpec(), "float32", freeze_encoder_steps=2)
    rng = np.random.default_rng(0)
    images = tf.constant(rng.normal(size=(2, 32, 32, 1)).astype(np.float32))
    masks = tf.constant((rng.random((2, 32, 32, 1)) > 0.8).astype(np.float32))
    step = setup.train_step.step_on  # eagerly: tracing MobileNetV2's step costs more than three steps
    step(images, masks)
    step(images, masks)
    for before, variable in zip(encoder_before, model.get_layer("encoder").trainable_variables):
        np.testing.assert_array_equal(before, variable.numpy())
    assert not np.array_equal(decoder_before, decoder.get_weights()[0])
    step(images, masks)  # step 2: the encoder trains from here on
    assert any(not np.array_equal(before, variable.numpy())
               for before, variable in zip(encoder_before, model.get_layer("encoder").trainable_variables))
