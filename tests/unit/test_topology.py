import pytest

from unet_defects.domain.errors import ConfigError
from unet_defects.domain.topology import UNetSpec


def test_reference_defaults_have_the_reference_parameter_count():
    assert UNetSpec(image_shape=(256, 256, 1)).parameter_count() == 1_925_025


def test_reference_forward_flops_match_the_published_figure():
    # REFERENCE.md: about 18.4 GFLOP per forward pass, about 55 per training image.
    spec = UNetSpec(image_shape=(256, 256, 1))
    assert spec.forward_flops() == pytest.approx(18.4e9, rel=0.01)
    assert spec.training_flops() == pytest.approx(55e9, rel=0.01)


def test_parameter_count_by_hand_for_a_tiny_net():
    spec = UNetSpec(image_shape=(8, 8, 1), encoder_filters=(2, 4), decoder_filters=(2,))
    enc = (9 * 1 * 2 + 2) + (9 * 2 * 2 + 2)
    bottleneck = (9 * 2 * 4 + 4) + (9 * 4 * 4 + 4)
    dec = (4 * 4 * 2 + 2) + (9 * 4 * 2 + 2) + (9 * 2 * 2 + 2)
    out = 2 * 1 + 1
    assert spec.parameter_count() == enc + bottleneck + dec + out


def test_no_skip_no_bias_and_initial_conv_change_the_count():
    base = UNetSpec(image_shape=(16, 16, 1))
    assert UNetSpec(image_shape=(16, 16, 1), skip_connect=False).parameter_count() < base.parameter_count()
    no_bias = UNetSpec(image_shape=(16, 16, 1), enable_bias=False)
    biases = sum(layer.out_channels for layer in base.layers())
    assert no_bias.parameter_count() == base.parameter_count() - biases
    initial = UNetSpec(image_shape=(16, 16, 1), initial_conv_filters=8)
    assert initial.layers()[0].name == "initial_conv"
    assert initial.layers()[1].in_channels == 8


@pytest.mark.parametrize(
    "changes, key",
    [
        ({"decoder_filters": (128, 64)}, "model.decoder_filters"),
        ({"image_shape": (250, 256, 1)}, "train_input.image_shape"),
        ({"num_classes": 1}, "train_input.num_classes"),
        ({"nonlinearity": "Swish"}, "model.nonlinearity"),
        ({"initializer": "xavier"}, "model.initializer"),
        ({"convs_per_block": ("5x5_conv",)}, "model.convs_per_block"),
        ({"encoder_filters": (32, "a")}, "model.encoder_filters"),
        ({"skip_connect": "yes"}, "model.skip_connect"),
    ],
)
def test_invalid_topologies_name_the_key(changes, key):
    values = {"image_shape": (256, 256, 1), **changes}
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        UNetSpec(**values)


def test_stride_follows_the_pooling_depth():
    spec = UNetSpec(image_shape=(40, 40, 1), encoder_filters=(8, 16, 32, 64), decoder_filters=(32, 16, 8))
    assert spec.stride == 8
    with pytest.raises(ConfigError, match="not divisible by 8"):
        UNetSpec(image_shape=(36, 40, 1))


def test_a_convolution_kind_that_is_not_a_name_is_a_config_error():
    # Found by the config fuzzer: a nested list used to raise TypeError.
    with pytest.raises(ConfigError, match="unknown convolution"):
        UNetSpec(image_shape=(32, 32, 1), convs_per_block=[[]])


def test_a_training_batch_past_the_machines_memory_is_one_line_before_anything_is_built():
    from unet_defects.configs.loader import load_config, preset_path

    huge, _ = load_config(None, None, ["train_input.image_shape=[60000,60000,1]"])
    problem = huge.memory_problem(24 * 2**30)
    assert problem.startswith("train_input.image_shape: 60000x60000 with train_batch_size")
    assert "GiB for its activations, more than this machine's 24.0 GiB" in problem and "\n" not in problem
    for preset in ("params_demo.yaml", "params_dagm.yaml", "params_severstal.yaml"):
        fits, _ = load_config(preset_path(preset))
        assert fits.memory_problem(24 * 2**30) is None, preset


def test_the_refinement_at_the_inputs_scale_is_counted_by_hand_and_needs_a_coarser_network():
    coarse = UNetSpec(image_shape=(16, 16, 1), encoder_filters=(2, 4), decoder_filters=(2,), input_downscale=2)
    refined = UNetSpec(image_shape=(16, 16, 1), encoder_filters=(2, 4), decoder_filters=(2,), input_downscale=2,
                       refine_filters=3)
    # image + logit in (2 channels) -> 3, 3 -> 3, both 3 x 3; then 3 -> 1 logit, 1 x 1; at 16 x 16 pixels
    added = (9 * 2 * 3 + 3) + (9 * 3 * 3 + 3) + (3 * 1 + 1)
    assert refined.parameter_count() == coarse.parameter_count() + added
    assert refined.forward_flops() - coarse.forward_flops() == 2 * 16 * 16 * (9 * 2 * 3 + 9 * 3 * 3 + 3)
    assert "refine_filters" in coarse.weight_differences(refined)[0]
    with pytest.raises(ConfigError, match="model.refine_filters: .* needs model.input_downscale 2 or 4"):
        UNetSpec(image_shape=(16, 16, 1), refine_filters=3)
