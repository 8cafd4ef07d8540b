"""Several defect classes at inference: a decision per class on literal probabilities, records
that name their class, the submission's row per class, tiles blended with a class axis."""

import numpy as np
import pytest

from unet_defects.adapters.components import ScipyComponents
from unet_defects.application.inspection import inspected
from unet_defects.application.prediction import Submission
from unet_defects.domain import rle
from unet_defects.domain.decision import Decision
from unet_defects.domain.tiling import PredictGeometry, TilePlan

CLASSES = ((1, "crack"), (3, "blowhole"))


def two_class_probabilities():
    probabilities = np.zeros((6, 8, 2), np.float32)
    probabilities[0:2, 0:2, 0] = 0.55  # a 4-pixel crack, kept by 0.5 and by min_area 3
    probabilities[4, 6, 0] = 0.9  # one pixel: removed by the crack's min_area 3
    probabilities[3:6, 0:3, 1] = 0.45  # 9 pixels of blowhole at 0.45: kept only by its own threshold 0.4
    return probabilities


def test_each_class_takes_its_own_threshold_and_min_area_and_its_records_name_it():
    decisions = (Decision(0.5, min_area=3), Decision(0.4))
    found = inspected(two_class_probabilities(), decisions, ScipyComponents(), CLASSES)
    assert found.mask.shape == (6, 8, 2)
    assert found.mask[..., 0].sum() == 4 and found.mask[..., 1].sum() == 9
    assert found.score == pytest.approx(0.9) and found.defective
    crack, blowhole = found.defects
    assert (crack.class_id, crack.class_name, crack.area) == (1, "crack", 4)
    assert (blowhole.class_id, blowhole.class_name, blowhole.area) == (3, "blowhole", 9)
    assert found.summary()["defects"][1]["class_id"] == 3
    assert found.summary()["types"] == ["crack", "blowhole"]  # the part's verdict names the types found
    # The same map under one decision for both classes: 0.5 drops the blowhole.
    strict = inspected(two_class_probabilities(), (Decision(0.5), Decision(0.5)), ScipyComponents(), CLASSES)
    assert [d.class_id for d in strict.defects] == [1, 1] and strict.summary()["types"] == ["crack"]
    with pytest.raises(ValueError, match=r"expected \(H, W, 2\) probabilities"):
        inspected(two_class_probabilities()[..., :1], decisions, ScipyComponents(), CLASSES)


def test_one_class_records_carry_no_class_keys():
    found = inspected(two_class_probabilities()[..., :1], (Decision(0.5),), ScipyComponents())
    assert found.mask.shape == (6, 8) and "class_id" not in found.summary()["defects"][0]
    assert "types" not in found.summary()


def test_the_submission_writes_a_row_per_class_that_decodes_back_to_its_mask():
    rng = np.random.default_rng(3)
    masks = rng.random((256, 1600, 4)) > 0.999
    masks[..., 1] = False  # a class with nothing predicted: an empty row
    rows = Submission("sub.csv", classes=(1, 2, 3, 4)).rows("dir/img.jpg", masks)
    assert [(name, class_id) for name, class_id, _ in rows] == [("img.jpg", k) for k in (1, 2, 3, 4)]
    assert rows[1][2] == ""
    for channel, (_, _, encoded) in enumerate(rows):
        np.testing.assert_array_equal(rle.decode(encoded) if encoded else np.zeros((256, 1600), bool),
                                      masks[..., channel])
    small = Submission("sub.csv", classes=(1, 2), min_total_area=1000).rows("a.png", masks[..., :2])
    assert [encoded for _, _, encoded in small] == ["", ""]  # each class's own area (about 410 pixels) is below 1000


def test_tiles_of_several_classes_blend_per_class_as_one_class_tiles_do():
    plan = TilePlan.for_image(40, 56, PredictGeometry(mode="native", tile=(32, 32), overlap=8, stride=8))
    rng = np.random.default_rng(0)
    tiles = [rng.random((*plan.tile_shape, 3)).astype(np.float32) for _ in plan.origins]
    blended = plan.blender(3)
    for index, tile in enumerate(tiles):
        blended.add(index, tile)
    together = blended.result()
    assert together.shape == (40, 56, 3)
    for channel in range(3):
        np.testing.assert_allclose(together[..., channel:channel + 1], plan.stitch([t[..., channel:channel + 1] for t in tiles]),
                                   rtol=1e-6)
    with pytest.raises(ValueError, match=r"expected a prediction of shape \(32, 32, 3\)"):
        plan.blender(3).add(0, tiles[0][..., 0])
