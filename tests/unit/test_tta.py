"""Test-time augmentation: every transform maps back, and the average is what it should be."""

import numpy as np
import pytest

from unet_defects.domain.errors import ConfigError
from unet_defects.domain.tta import averaged, transforms


@pytest.mark.parametrize("mode, count", [("none", 1), ("flip", 3), ("d4", 8)])
def test_each_transform_is_undone_by_its_inverse(mode, count):
    batch = np.arange(2 * 4 * 4).reshape(2, 4, 4).astype(np.float32)
    chosen = transforms(mode)
    assert len(chosen) == count and len(set(chosen)) == count
    for transform in chosen:
        assert np.array_equal(transform.inverse(transform.forward(batch)), batch)


def test_flip_averages_a_model_that_is_not_flip_invariant():
    # The "model" answers with each pixel's column index / 3: flipping left-right reverses it.
    def column_model(batch):
        return np.broadcast_to(np.arange(batch.shape[2], dtype=np.float32) / 3, batch.shape[:3]).copy()

    batch = np.zeros((1, 2, 4, 1), np.float32)
    out, _ = averaged(lambda copy: (column_model(copy), None), batch, "flip")
    # identity and up-down give x/3, left-right gives (3 - x)/3 mapped back: mean (x + x + 3 - x) / 9
    expected = (np.arange(4) + 3) / 9
    assert np.allclose(out[0], np.broadcast_to(expected, (2, 4)))


def test_d4_refuses_non_square_inputs_and_unknown_modes():
    with pytest.raises(ConfigError, match="square"):
        averaged(lambda b: (b[..., 0], None), np.zeros((1, 4, 8, 1), np.float32), "d4")
    with pytest.raises(ConfigError, match="--tta"):
        transforms("rot")
