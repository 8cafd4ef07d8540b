"""The training loss (`model.loss` and its knobs).

- `bce`: sigmoid cross-entropy, the mean over every pixel of the batch (the reference's).
- `dice`: 1 - soft Dice of the defect class over the whole batch, (2 sum(p y) + s) / (sum p + sum y + s).
- `bce_dice`: bce + dice_weight x dice.
- `focal`: the mean over pixels of (1 - p_t)^focal_gamma x the pixel's cross-entropy.
- `tversky`: 1 - (TP + s) / (TP + alpha FP + beta FN + s) over the batch, with soft counts
  (TP = sum p y, FP = sum p (1 - y), FN = sum (1 - p) y); beta > alpha weighs missed defect
  pixels more than false alarms, which rare, small defects need.
- `bce_tversky`: bce + dice_weight x tversky.

With several defect classes (one sigmoid channel each), dice and tversky are computed per class
over the batch and averaged, so a rare class weighs as much as a common one.

With `model.classifier_head`, `classifier_loss_weight` x the head's sigmoid cross-entropy against
each image's labels (a class is present when its mask has a defect pixel, or the part carries
only a defective label) is added. Pixels of such parts (domain.image_labels.UNKNOWN_DEFECT)
count in no pixel loss.

`pos_weight` multiplies the defect pixels' cross-entropy terms (bce, bce_dice, focal).
"""

from __future__ import annotations

from typing import ClassVar

import attrs

from unet_defects.domain.validation import number_in, one_of, optional, to_float

LOSSES = ("bce", "dice", "bce_dice", "focal", "tversky", "bce_tversky")


@attrs.frozen(kw_only=True)
class LossSpec:
    SECTION: ClassVar[str] = "model"

    loss: str = attrs.field(default="bce", validator=one_of(LOSSES))
    pos_weight: float | None = attrs.field(default=None, converter=to_float,
                                           validator=optional(number_in(0.0, 1e6, low_open=True)))
    dice_weight: float = attrs.field(default=1.0, converter=to_float, validator=number_in(0.0, 1e6))
    dice_smooth: float = attrs.field(default=1.0, converter=to_float, validator=number_in(0.0, 1e6))
    focal_gamma: float = attrs.field(default=2.0, converter=to_float, validator=number_in(0.0, 100.0))
    tversky_alpha: float = attrs.field(default=0.3, converter=to_float, validator=number_in(0.0, 1.0))
    tversky_beta: float = attrs.field(default=0.7, converter=to_float, validator=number_in(0.0, 1.0))
    # With model.classifier_head: the weight of the head's image-level cross-entropy (the mean
    # over images and classes), added to the pixel loss.
    classifier_loss_weight: float = attrs.field(default=1.0, converter=to_float, validator=number_in(0.0, 1e6))
