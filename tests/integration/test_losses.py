"""Each loss against a value computed by hand: logits [0, ln 3] (p = 0.5, 0.75), labels [1, 0]."""

import math

import pytest

from unet_defects.domain.losses import LossSpec

tf = pytest.importorskip("tensorflow")
from unet_defects.adapters.tensorflow.losses import make_loss  # noqa: E402

LABELS = tf.constant([[[[1.0], [0.0]]]])
LOGITS = tf.constant([[[[0.0], [math.log(3.0)]]]])
BCE = (math.log(2.0) + math.log(4.0)) / 2  # -ln 0.5 and -ln 0.25
DICE = 1 - (2 * 0.5 + 1) / (1.25 + 1 + 1)
# TP = 0.5, FP = 0.75, FN = 0.5; alpha 0.3 on false alarms, beta 0.7 on misses, smoothing 1.
TVERSKY = 1 - (0.5 + 1) / (0.5 + 0.3 * 0.75 + 0.7 * 0.5 + 1)


@pytest.mark.parametrize("spec, expected", [
    (LossSpec(), BCE),
    (LossSpec(pos_weight=2.0), (2 * math.log(2.0) + math.log(4.0)) / 2),
    (LossSpec(loss="dice"), DICE),
    (LossSpec(loss="bce_dice", dice_weight=0.5), BCE + 0.5 * DICE),
    (LossSpec(loss="focal"), (0.25 * math.log(2.0) + 0.5625 * math.log(4.0)) / 2),
    (LossSpec(loss="focal", focal_gamma=0.0), BCE),
    (LossSpec(loss="tversky"), TVERSKY),
    # alpha = beta = 1/2 without smoothing is Dice without smoothing: 1 - 2 * 0.5 / (1.25 + 1).
    (LossSpec(loss="tversky", tversky_alpha=0.5, tversky_beta=0.5, dice_smooth=0.0), 1 - 1 / 2.25),
    (LossSpec(loss="dice", dice_smooth=0.0), 1 - 1 / 2.25),
    (LossSpec(loss="bce_tversky", dice_weight=2.0), BCE + 2.0 * TVERSKY),
])
def test_loss_equals_the_hand_computed_value(spec, expected):
    assert float(make_loss(spec)(LABELS, LOGITS)) == pytest.approx(expected, rel=1e-6)


@pytest.mark.parametrize("spec", [LossSpec(), LossSpec(loss="bce_dice"), LossSpec(loss="tversky"),
                                  LossSpec(loss="focal")])
def test_a_part_with_an_image_label_only_adds_nothing_to_the_pixel_loss(spec):
    """A second image whose mask is UNKNOWN_DEFECT everywhere: the batch's pixel loss is the
    first image's alone, and the image labels are (1, 1) (the first has a defect pixel)."""
    from unet_defects.adapters.tensorflow.losses import image_labels, make_image_loss
    from unet_defects.domain.image_labels import UNKNOWN_DEFECT

    labels = tf.concat([LABELS, tf.fill([1, 1, 2, 1], UNKNOWN_DEFECT)], axis=0)
    logits = tf.concat([LOGITS, tf.constant([[[[5.0], [-5.0]]]])], axis=0)
    expected = float(make_loss(spec)(LABELS, LOGITS))
    assert float(make_loss(spec, partial=True)(labels, logits)) == pytest.approx(expected, rel=1e-6)
    assert float(make_loss(spec, partial=True)(LABELS, LOGITS)) == pytest.approx(expected, rel=1e-6)
    clean = tf.zeros([1, 1, 2, 1])
    assert image_labels(tf.concat([labels, clean], axis=0)).numpy().tolist() == [[1.0], [1.0], [0.0]]
    # The head's term: classifier_loss_weight x the mean cross-entropy; logits 0 and ln 3 against labels 1, 0.
    head = make_image_loss(LossSpec(classifier_loss_weight=0.5))
    assert float(head(tf.concat([LABELS, clean], axis=0), tf.constant([[0.0], [math.log(3.0)]]))) == pytest.approx(
        0.5 * BCE, rel=1e-6)
