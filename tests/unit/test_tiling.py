import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from domain.errors import ConfigError
from domain.tiling import PredictGeometry, TilePlan, tile_origins


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
    np.testing.assert_allclose(plan.stitch([tile[..., 0]]), image[..., 0], rtol=1e-6)


@settings(max_examples=60, deadline=None)
@given(height=st.integers(1, 300), width=st.integers(1, 300),
       tile=st.sampled_from([16, 32, 64]), overlap=st.integers(0, 15))
def test_stitching_tiles_of_an_identity_model_gives_the_image_back(height, width, tile, overlap):
    geometry = PredictGeometry(mode="native", tile=(tile, tile), overlap=overlap)
    plan = TilePlan.for_image(height, width, geometry)
    image = np.random.default_rng(height * 1000 + width).random((height, width, 1)).astype(np.float32)
    tiles = [t[..., 0] for t in plan.tiles(image)]
    assert all(t.shape == plan.tile_shape for t in tiles)
    np.testing.assert_allclose(plan.stitch(tiles), image[..., 0], rtol=1e-6, atol=1e-6)


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
