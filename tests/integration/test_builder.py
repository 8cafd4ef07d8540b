import numpy as np
import pytest

from tests.conftest import needs_native_bf16
from unet_defects.adapters.tensorflow.builder import KerasUNetBuilder
from unet_defects.domain.topology import UNetSpec

pytestmark = pytest.mark.filterwarnings("ignore")


@pytest.mark.parametrize(
    "changes",
    [
        {},
        {"skip_connect": False},
        {"enable_bias": False},
        {"initial_conv_filters": 16},
        {"convs_per_block": ("3x3_conv", "1x1_conv", "3x3_conv")},
        {"encoder_filters": (8, 16, 32), "decoder_filters": (16, 8)},
        {"normalization": "batch"},
        {"normalization": "group", "initial_conv_filters": 12},
    ],
)
def test_builder_parameter_count_equals_the_spec(changes):
    spec = UNetSpec(image_shape=(64, 64, 1), **changes)
    model = KerasUNetBuilder("float32", "channels_last").build(spec)
    assert model.count_params() == spec.parameter_count()


def test_normalization_layers_add_their_weights_per_normalized_channel():
    plain = UNetSpec(image_shape=(64, 64, 1))
    # Every block convolution is normalized: 2 per block, 4 encoder and 3 decoder blocks.
    channels = sum(2 * f for f in plain.encoder_filters) + sum(2 * f for f in plain.decoder_filters)
    for kind, per_channel in (("batch", 4), ("group", 2)):
        spec = UNetSpec(image_shape=(64, 64, 1), normalization=kind)
        assert spec.parameter_count() == plain.parameter_count() + per_channel * channels
        model = KerasUNetBuilder("float32", "channels_last").build(spec)
        assert model.count_params() == spec.parameter_count()
        assert sum(1 for layer in model.layers if type(layer).__name__.endswith("Normalization")) == 14
    assert plain.forward_flops() == UNetSpec(image_shape=(64, 64, 1), normalization="batch").forward_flops()


def test_reference_model_has_1925025_parameters_and_one_logit_channel():
    spec = UNetSpec(image_shape=(256, 256, 1))
    model = KerasUNetBuilder("float32", "channels_last").build(spec)
    assert model.count_params() == 1_925_025
    assert model.output_shape == (None, None, None, 1)
    weights = [layer.name for layer in model.layers if layer.weights]
    assert [layer.name for layer in spec.layers()] == weights


@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
def test_both_data_formats_build_and_give_nhwc_logits(data_format):
    spec = UNetSpec(image_shape=(32, 32, 1), encoder_filters=(4, 8), decoder_filters=(4,), data_format=data_format)
    model = KerasUNetBuilder("float32", data_format).build(spec)
    assert model.count_params() == spec.parameter_count()
    kernels = {layer.name: layer.data_format for layer in model.layers if hasattr(layer, "data_format")}
    assert set(kernels.values()) == {data_format}
    if data_format == "channels_last":
        logits = model(np.zeros((2, 32, 32, 1), np.float32))
        assert tuple(logits.shape) == (2, 32, 32, 1)


def test_channels_first_and_last_compute_the_same_function():
    """Same weights, both layouts: the permutes make them one function (checked where NCHW runs)."""
    import tensorflow as tf

    spec = UNetSpec(image_shape=(16, 16, 1), encoder_filters=(2, 4), decoder_filters=(2,))
    last = KerasUNetBuilder("float32", "channels_last").build(spec)
    first = KerasUNetBuilder("float32", "channels_first").build(spec)
    first.set_weights(last.get_weights())
    images = np.random.default_rng(0).normal(size=(1, 16, 16, 1)).astype(np.float32)
    try:
        got = first(images).numpy()
    except (tf.errors.InvalidArgumentError, tf.errors.UnimplementedError):
        pytest.skip("this CPU build has no NCHW convolution kernels")
    np.testing.assert_allclose(got, last(images).numpy(), rtol=1e-4, atol=1e-5)


@needs_native_bf16
def test_mixed_bfloat16_keeps_float32_logits_and_variables():
    spec = UNetSpec(image_shape=(16, 16, 1), encoder_filters=(2, 4), decoder_filters=(2,))
    model = KerasUNetBuilder("mixed_bfloat16", "channels_last").build(spec)
    assert all(v.dtype == "float32" for v in model.trainable_variables)
    assert model(np.zeros((1, 16, 16, 1), np.float32)).dtype == "float32"


def test_leaky_relu_takes_the_reference_alpha_spelling():
    spec = UNetSpec(image_shape=(16, 16, 1), encoder_filters=(2, 4), decoder_filters=(2,),
                    nonlinearity="LeakyReLU", nonlinearity_params={"alpha": 0.1})
    model = KerasUNetBuilder("float32", "channels_last").build(spec)
    slopes = {layer.negative_slope for layer in model.layers if layer.__class__.__name__ == "LeakyReLU"}
    assert len(slopes) == 1 and slopes.pop() == pytest.approx(0.1)
