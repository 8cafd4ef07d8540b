"""The files predict writes: the pictures are made a strip at a time and stay pixel for pixel
what the full-size float formulas made; an --output that is a file is refused in one line."""

import imageio.v3 as iio
import numpy as np
import pytest

from unet_defects.adapters.artifacts import FileArtifactStore
from unet_defects.adapters.images import MASK_COLOURS, OVERLAY_IMAGE_WEIGHT, overlay, probability_picture
from unet_defects.domain.errors import DataError
from unet_defects.domain.masks import to_uint8_mask


def _overlay_before(gray, mask):  # adapters.images.overlay until the strip-wise table
    rgb = np.repeat(np.asarray(gray, np.float32)[..., None], 3, axis=2)
    colours = MASK_COLOURS[np.asarray(mask, dtype=bool).astype(np.intp)]
    blended = OVERLAY_IMAGE_WEIGHT * rgb + (1.0 - OVERLAY_IMAGE_WEIGHT) * colours
    return np.clip(np.rint(blended), 0, 255).astype(np.uint8)


def _probability_before(probabilities):
    return np.rint(np.clip(probabilities, 0, 1) * 65535).astype(np.uint16)


def _mask_before(decision):
    return np.where(np.asarray(decision, dtype=bool), 255, 0).astype(np.uint8)


@pytest.fixture
def picture():
    rng = np.random.default_rng(7)
    gray = rng.integers(0, 256, (97, 263), dtype=np.uint8)
    gray[0, :256] = np.arange(256)  # every gray value, with and without the mask
    gray[1, :256] = np.arange(256)
    probabilities = rng.random(gray.shape, np.float32) * 1.2 - 0.1  # some outside [0, 1]
    decision = probabilities > 0.5
    decision[0], decision[1] = False, True
    return gray, probabilities, decision


def test_the_pictures_equal_the_full_size_formulas(picture, monkeypatch):
    gray, probabilities, decision = picture
    np.testing.assert_array_equal(overlay(gray, decision), _overlay_before(gray, decision))
    np.testing.assert_array_equal(overlay(gray, decision.astype(np.float32)), _overlay_before(gray, decision))
    np.testing.assert_array_equal(probability_picture(probabilities), _probability_before(probabilities))
    np.testing.assert_array_equal(to_uint8_mask(decision), _mask_before(decision))
    from unet_defects.domain.tiling import row_strips as strips

    monkeypatch.setattr("unet_defects.adapters.images.row_strips", lambda h, w: strips(h, w, pixels=1000))  # many strips
    np.testing.assert_array_equal(overlay(gray, decision), _overlay_before(gray, decision))
    np.testing.assert_array_equal(probability_picture(probabilities), _probability_before(probabilities))


def test_written_files_hold_those_pixels(picture, tmp_path):
    gray, probabilities, decision = picture
    written = FileArtifactStore(tmp_path / "model").write_prediction(
        str(tmp_path / "out"), "a/part.png", gray, probabilities, decision, save_probabilities=True)
    assert [p.rsplit("/", 1)[1] for p in written] == ["part_mask.png", "part_overlay.png", "part_probability.png"]
    np.testing.assert_array_equal(iio.imread(written[0]), _mask_before(decision))
    np.testing.assert_array_equal(iio.imread(written[1]), _overlay_before(gray, decision))
    np.testing.assert_array_equal(iio.imread(written[2]), _probability_before(probabilities))


def test_an_output_that_is_a_file_is_refused_before_anything_is_written(picture, tmp_path):
    gray, probabilities, decision = picture
    existing = tmp_path / "taken.png"
    existing.write_bytes(b"x")
    with pytest.raises(DataError) as raised:
        FileArtifactStore(tmp_path / "model").write_prediction(str(existing), "a.png", gray, probabilities, decision)
    assert str(raised.value) == f"{existing}: exists and is not a folder; name a folder for --output"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["taken.png"] and existing.read_bytes() == b"x"
