"""Where training crops come from, and what marks padding in an evaluation mask.

A crop centred on a defect pixel (y, x) starts at (y - h // 2, x - w // 2), moved inside the
image where the defect is near its border, so that the crop never leaves the image.
"""

from __future__ import annotations

import numpy as np

# The mask value of padding added for evaluation (whole images padded to the network's
# stride): neither defect nor background, counted in no score.
PAD_LABEL = -1.0


def centred_origin(centre: tuple[int, int], crop: tuple[int, int], size: tuple[int, int]) -> tuple[int, int]:
    """The top-left corner of a `crop` (h, w) centred on `centre` (y, x) inside an image of `size`."""
    def start(c: int, k: int, s: int) -> int:
        return min(max(c - k // 2, 0), s - k)

    return start(centre[0], crop[0], size[0]), start(centre[1], crop[1], size[1])


def unpadded_size(mask: np.ndarray) -> tuple[int, int]:
    """(height, width) of an evaluation mask without its padding (added at the bottom and right)."""
    valid = np.asarray(mask) > PAD_LABEL
    return int(valid.any(axis=1).sum()), int(valid.any(axis=0).sum())
