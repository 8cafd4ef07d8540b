import attrs
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from unet_defects.domain.errors import ConfigError
from unet_defects.domain.tiling import PredictGeometry, TilePlan, tile_origins


def test_origins_cover_the_length_with_the_overlap():
    assert tile_origins(100, 128, 32) == [0]
    assert tile_origins(1600, 256, 32) == [0, 224, 448, 672, 896, 1120, 1344]
    origins = tile_origins(1600, 256, 32)
    assert origins[-1] + 256 == 1600
    assert all(b - a <= 256 - 32 for a, b in zip(origins, origins[1:]))


def test_a_severstal_image_is_tiled_at_full_resolution():
    plan = TilePlan.for_image(256, 1600, PredictGeometry(mode="native", tile=(256, 256)))
    assert plan.padded == (256, 1600) and plan.tile_shape == (256, 256)
    assert len(plan.origins) == 7


def test_sides_off_the_stride_are_padded_and_cropped_back():
    plan = TilePlan.for_image(100, 37, PredictGeometry(mode="native", tile=(256, 256)))
    assert plan.padded == (112, 48) and plan.origins == ((0, 0),)
    image = np.arange(100 * 37, dtype=np.float32).reshape(100, 37, 1)
    (tile,) = plan.tiles(image)
    assert tile.shape == (112, 48, 1)
    np.testing.assert_array_equal(tile[:100, :37], image)
    np.testing.assert_allclose(plan.stitch([tile]), image, rtol=1e-6)


@settings(max_examples=60, deadline=None)
@given(height=st.integers(1, 300), width=st.integers(1, 300),
       tile=st.sampled_from([16, 32, 64]), overlap=st.integers(0, 15))
def test_stitching_tiles_of_an_identity_model_gives_the_image_back(height, width, tile, overlap):
    geometry = PredictGeometry(mode="native", tile=(tile, tile), overlap=overlap)
    plan = TilePlan.for_image(height, width, geometry)
    image = np.random.default_rng(height * 1000 + width).random((height, width, 1)).astype(np.float32)
    tiles = list(plan.tiles(image))
    assert all(t.shape == (*plan.tile_shape, 1) for t in tiles)
    np.testing.assert_allclose(plan.stitch(tiles), image, rtol=1e-6, atol=1e-6)


def test_blending_weights_fall_off_across_the_overlap():
    plan = TilePlan.for_image(64, 200, PredictGeometry(mode="native", tile=(64, 64), overlap=16))
    weights = plan.weights()
    assert weights[32, 32] == 1.0
    assert weights[32, 0] == pytest.approx(1 / 17)
    assert np.all(np.diff(weights[32, :16]) > 0)


def test_bad_geometry_names_its_key():
    with pytest.raises(ConfigError, match="predict.tile: 100 is not a multiple"):
        PredictGeometry(tile=(100, 96))
    with pytest.raises(ConfigError, match="predict.overlap"):
        PredictGeometry(tile=(32, 32), overlap=32)
    with pytest.raises(ConfigError, match="predict.mode"):
        PredictGeometry(mode="squash", tile=(32, 32))


def _stitch_in_float64(plan: TilePlan, predictions) -> np.ndarray:
    """The blending before TileBlender: float64 sums over the padded size, divided, cropped
    (one class: (th, tw, 1) predictions, an (H, W, 1) map)."""
    total = np.zeros(plan.padded, np.float64)
    weight_sum = np.zeros(plan.padded, np.float64)
    weights = plan.weights()
    th, tw = plan.tile_shape
    for (top, left), prediction in zip(plan.origins, predictions):
        total[top : top + th, left : left + tw] += prediction[..., 0] * weights
        weight_sum[top : top + th, left : left + tw] += weights
    return (total / weight_sum)[: plan.height, : plan.width, None].astype(np.float32)


def _assert_tiles_are_cut_from_the_padded_image(plan: TilePlan, image: np.ndarray) -> None:
    padded = plan.pad(image)
    th, tw = plan.tile_shape
    for index, (top, left) in enumerate(plan.origins):
        tile = plan.tile(image, index)
        assert tile.dtype == image.dtype and tile.shape == (th, tw) + image.shape[2:]
        np.testing.assert_array_equal(tile, padded[top : top + th, left : left + tw])


@pytest.mark.parametrize("shape", [(5, 7), (5, 7, 3), (1, 1), (17, 3), (100, 37, 1), (300, 290), (200, 130, 3)])
def test_a_tile_equals_the_padded_image_sliced(shape):
    plan = TilePlan.for_image(*shape[:2], PredictGeometry(mode="native", tile=(64, 64), overlap=8))
    image = np.random.default_rng(len(shape)).integers(0, 256, shape, dtype=np.uint8)
    _assert_tiles_are_cut_from_the_padded_image(plan, image)


def test_padding_wider_than_the_image_mirrors_it_again_as_np_pad_does():
    plan = TilePlan.for_image(5, 7, PredictGeometry(mode="native", tile=(16, 16), overlap=4))
    assert plan.padded == (16, 16) and plan.tile_shape == (16, 16)
    image = np.arange(35, dtype=np.float32).reshape(5, 7)
    tile = plan.tile(image, 0)
    np.testing.assert_array_equal(tile, plan.pad(image))
    np.testing.assert_array_equal(tile[5:10, :7], image[::-1])  # the first mirror
    np.testing.assert_array_equal(tile[10:15, :7], image)  # and the mirror of the mirror
    np.testing.assert_array_equal(tile[:5, 7:14], image[:, ::-1])
    assert tile[15, 15] == image[4, 1]


@settings(max_examples=40, deadline=None)
@given(height=st.integers(1, 200), width=st.integers(1, 200), tile=st.sampled_from([16, 32, 48]),
       overlap=st.integers(0, 15), channels=st.sampled_from([0, 1, 3]))
def test_any_tile_equals_the_padded_image_sliced(height, width, tile, overlap, channels):
    plan = TilePlan.for_image(height, width, PredictGeometry(mode="native", tile=(tile, tile), overlap=overlap))
    shape = (height, width) + ((channels,) if channels else ())
    _assert_tiles_are_cut_from_the_padded_image(plan, np.random.default_rng(height).random(shape, np.float32))


def test_a_tile_inside_the_image_is_a_view_and_an_image_of_another_size_is_refused():
    plan = TilePlan.for_image(200, 200, PredictGeometry(mode="native", tile=(64, 64)))
    image = np.zeros((200, 200), np.uint8)
    assert np.shares_memory(plan.tile(image, 0), image)
    with pytest.raises(ValueError, match="expected an image of 200x200"):
        plan.tile(np.zeros((100, 200), np.uint8), 0)


@settings(max_examples=40, deadline=None)
@given(height=st.integers(1, 300), width=st.integers(1, 300), tile=st.sampled_from([16, 32, 64]),
       overlap=st.integers(0, 15), seed=st.integers(0, 2**16))
def test_the_blender_takes_tiles_in_any_order_and_agrees_with_float64_stitching(height, width, tile, overlap, seed):
    plan = TilePlan.for_image(height, width, PredictGeometry(mode="native", tile=(tile, tile), overlap=overlap))
    rng = np.random.default_rng(seed)
    predictions = [rng.random((*plan.tile_shape, 1), np.float32) for _ in plan.origins]
    blender = plan.blender()
    for index in rng.permutation(len(predictions)):
        blender.add(int(index), predictions[index])
    blended = blender.result()
    assert blended.dtype == np.float32 and blended.shape == (height, width, 1)
    np.testing.assert_allclose(blended, _stitch_in_float64(plan, predictions), rtol=0, atol=1e-6)
    np.testing.assert_allclose(blended, plan.stitch(predictions), rtol=0, atol=1e-6)


def test_a_plan_of_other_origins_is_blended_with_stored_weight_sums():
    grid = TilePlan.for_image(100, 100, PredictGeometry(mode="native", tile=(32, 32), overlap=8))
    plan = attrs.evolve(grid, origins=grid.origins + ((10, 30),))  # not a rows x columns grid
    assert plan.blender()._weight_sum is not None
    predictions = [np.random.default_rng(i).random((*plan.tile_shape, 1), np.float32) for i in range(len(plan.origins))]
    np.testing.assert_allclose(plan.stitch(predictions), _stitch_in_float64(plan, predictions), rtol=0, atol=1e-6)


def test_a_spent_blender_refuses_more_and_a_short_one_says_what_is_missing():
    plan = TilePlan.for_image(64, 200, PredictGeometry(mode="native", tile=(64, 64), overlap=16))
    blender = plan.blender()
    assert blender._weight_sum is None  # for_image's grid: weight sums from the 1-D ramps
    ones = np.ones((*plan.tile_shape, 1), np.float32)
    blender.add(0, ones)
    with pytest.raises(ValueError, match="tile 0 was blended in already"):
        blender.add(0, ones)
    with pytest.raises(ValueError, match="expected a prediction of shape"):
        blender.add(1, ones[:10])
    with pytest.raises(ValueError, match=f"{len(plan.origins) - 1} of {len(plan.origins)} tile predictions"):
        blender.result()
    for index in range(1, len(plan.origins)):
        blender.add(index, ones)
    np.testing.assert_allclose(blender.result(), 1.0, rtol=1e-6)
    with pytest.raises(RuntimeError, match="result was taken"):
        blender.result()
    with pytest.raises(RuntimeError, match="result was taken"):
        blender.add(0, ones)
