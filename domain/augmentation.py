"""Training augmentation (`augmentation` section), applied identically to image and mask.

The defaults are the reference's: a random horizontal flip, a rot90 by k in {0, 1, 2}, and for
Severstal a brightness shift of +0.2 with probability 0.5. `train_input.augment_data: False`
turns all of it off.
"""

from __future__ import annotations

from typing import ClassVar

import attrs

from unet_defects.domain.layouts import layout
from unet_defects.domain.validation import is_bool, number_in, one_of, optional, to_float

ROTATIONS = {"reference": (0, 1, 2), "all": (0, 1, 2, 3), "none": (0,)}


@attrs.frozen(kw_only=True)
class AugmentationSpec:
    SECTION: ClassVar[str] = "augmentation"

    horizontal_flip: bool = attrs.field(default=True, validator=is_bool)
    vertical_flip: bool = attrs.field(default=False, validator=is_bool)
    # Quarter turns drawn from: reference {0, 1, 2}, all {0, 1, 2, 3}, none {0}. Non-square
    # images only take the half turns of that set, so that shapes are kept.
    rotations: str = attrs.field(default="reference", validator=one_of(tuple(ROTATIONS)))
    # Shift by up to this fraction of the pixel range (0.2: +-51 of 255), with brightness_probability.
    # Unset: the reference's +0.2 for Severstal, none otherwise.
    brightness: float | None = attrs.field(default=None, converter=to_float,
                                           validator=optional(number_in(0.0, 1.0)))
    brightness_probability: float = attrs.field(default=0.5, converter=to_float, validator=number_in(0.0, 1.0))
    # Scale the contrast around the image mean by a factor in [1 - contrast, 1 + contrast].
    contrast: float = attrs.field(default=0.0, converter=to_float, validator=number_in(0.0, 1.0, high_open=True))

    def quarter_turns(self, square: bool) -> tuple[int, ...]:
        turns = ROTATIONS[self.rotations]
        return turns if square else tuple(sorted({k for k in turns if k % 2 == 0}))

    def brightness_for(self, dataset: str) -> float:
        """`brightness`, or when unset the default of the dataset's layout (Severstal's +0.2)."""
        return layout(dataset).brightness if self.brightness is None else self.brightness
