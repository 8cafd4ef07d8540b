import numpy as np

from unet_defects.domain.sampling import PAD_LABEL, centred_origin, unpadded_size


def test_a_centred_crop_starts_half_a_crop_before_the_defect_and_stays_inside():
    assert centred_origin((50, 60), (16, 32), (100, 200)) == (42, 44)
    assert centred_origin((3, 190), (16, 32), (100, 200)) == (0, 168)  # near the top and right edges
    assert centred_origin((99, 0), (16, 32), (100, 200)) == (84, 0)
    assert centred_origin((5, 5), (16, 16), (16, 16)) == (0, 0)  # the crop is the whole (padded) image


def test_padding_is_found_at_the_bottom_and_right_of_an_evaluation_mask():
    mask = np.full((8, 12), PAD_LABEL)
    mask[:5, :9] = 0.0
    mask[2, 3] = 1.0
    assert unpadded_size(mask) == (5, 9) and unpadded_size(np.zeros((4, 4))) == (4, 4)
