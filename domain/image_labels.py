"""Parts that carry only an image-level label (defective, no mask drawn), and the keys that use them.

Most lines have far more parts labelled OK/NG than drawn masks. With `model.classifier_head`,
such a part still trains the classifier: its mask is filled with UNKNOWN_DEFECT, which the
pixel loss skips and the image-level label reads as "defective".

- `train_input.image_labels_only: true` admits them: a DAGM row flagged defective whose mask is
  missing (else one line, as always), and the images of an own-folders `defective/` folder beside
  `images/` and `masks/` (training only: they have no pixels to score).
- `train_input.masked_fraction: f` keeps the masks of that seeded share of the defective training
  images; the rest become image-label parts with image_labels_only, else are left out. It shows
  what the head buys when few masks are drawn.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from unet_defects.domain.errors import ConfigError
from unet_defects.domain.layouts import layout

# A mask value below every real one (0/1 truth, PAD_LABEL -1 for padding): defect somewhere, pixels unknown.
UNKNOWN_DEFECT = -2.0
UNKNOWN_CUTOFF = -1.5  # mask values at or below this are UNKNOWN_DEFECT


def check_image_labels(spec: Any) -> None:
    """image_labels_only and masked_fraction agree with the dataset (DataSpec's post-init)."""
    family = layout(spec.dataset).family
    if spec.image_labels_only:
        if family not in ("dagm", "folder") or not layout(spec.dataset).reads_files:
            raise ConfigError(f"train_input.image_labels_only: reads DAGM2007Dataset's Labels.txt flags or an "
                              f"ImageFolderDataset's defective/ folder; {spec.dataset} has no image-level labels")
        if len(spec.classes) > 1:
            raise ConfigError("train_input.image_labels_only: one defect class only (an image label does not say "
                              "which of several classes a part has)")
        if spec.image_fit == "crop":
            raise ConfigError("train_input.image_labels_only: needs whole images (image_fit: resize); a crop of a "
                              "part labelled defective may not hold its defect")
    if spec.masked_fraction < 1.0 and not layout(spec.dataset).reads_files:
        raise ConfigError(f"train_input.masked_fraction: reads image files; {spec.dataset} is not supported")


def kept_masks(defective_with_mask: Sequence[bool], fraction: float, seed: int | None) -> set[int]:
    """The indices of the defective samples whose masks are kept: a seeded `fraction` of them
    (at least one when there is one), the same for a given seed and listing."""
    candidates = [index for index, flag in enumerate(defective_with_mask) if flag]
    if fraction >= 1.0 or not candidates:
        return set(candidates)
    count = max(1, round(fraction * len(candidates)))
    order = np.random.default_rng(0 if seed is None else seed).permutation(len(candidates))
    return {candidates[i] for i in order[:count]}
