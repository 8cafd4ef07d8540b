"""Scores over several defect classes: each class scored as a one-class task, then their mean,
and Severstal's leaderboard metric.

- The mean of a score is taken over the classes (image_AUROC over the classes where it is
  defined, None when it is defined for none), so a rare class counts as much as a common one.
- kaggle_dice: the defect Dice of every (image, class) pair, empty truth and empty prediction
  counting 1, averaged over all pairs (Severstal's metric).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import attrs

from unet_defects.domain.metrics import ConfusionMatrix, Scores, defect_dice


def mean_scores(per_class: Sequence[Scores]) -> Scores:
    """Every score averaged over the classes."""
    if not per_class:
        raise ValueError("no class to average")
    means: dict[str, Any] = {}  # float, or None for a score defined for no class
    for field in attrs.fields(Scores):
        values = [getattr(scores, field.name) for scores in per_class]
        defined = [v for v in values if v is not None]
        means[field.name] = sum(defined) / len(defined) if defined else None
    return Scores(**means)


def kaggle_dice(per_class_images: Sequence[Sequence[ConfusionMatrix]]) -> float:
    """The mean defect Dice over (image, class) pairs: `per_class_images[c][i]` is image i's
    confusion counts for class c."""
    pairs = [defect_dice(cm) for images in per_class_images for cm in images]
    if not pairs:
        raise ValueError("no (image, class) pair to score")
    return sum(pairs) / len(pairs)
