"""The rare-defect stand-in: what it promises about its images, through `unet synth rare`."""

import numpy as np
import pytest

from unet_defects.adapters.datasets.synthetic_rare import SyntheticRareSpec
from unet_defects.adapters.images import read_gray
from unet_defects.cli import main
from unet_defects.domain.errors import ConfigError


def test_unet_synth_rare_writes_mostly_clean_images_of_several_sizes_with_small_defects(tmp_path):
    assert main(["synth", "rare", "--output", str(tmp_path), "--images", "20", "--seed", "3"]) == 0
    images = sorted((tmp_path / "images").glob("*.png"))
    masks = sorted((tmp_path / "masks").glob("*.png"))
    assert len(images) == 20 and len(masks) == 6  # 30 % defective
    sizes = {read_gray(path).shape[:2] for path in images}
    assert len(sizes) > 1 and all(64 <= side <= 160 for size in sizes for side in size)
    for path in masks:
        mask = read_gray(path)
        assert mask.shape[:2] == read_gray(tmp_path / "images" / path.name).shape[:2]
        assert set(np.unique(mask)) == {0, 255}
        assert 0 < np.mean(mask > 0) < 0.02  # small: under 2 % of the image


def test_a_bad_setting_is_refused_by_name():
    with pytest.raises(ConfigError, match="defective_fraction"):
        SyntheticRareSpec(defective_fraction=1.5)
