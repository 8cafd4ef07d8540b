"""Mask rules: how a probability or logit becomes a defect decision, and what truth counts."""

from __future__ import annotations

import math

import attrs
import numpy as np

# Soft truth values (bilinear resize of a 0/255 mask) count as defect from this value on.
TRUTH_THRESHOLD = 0.5
DECISION_SPACES = ("probability", "logit")


@attrs.frozen(kw_only=True)
class DecisionRule:
    """A pixel is a defect when its value in `space` exceeds `threshold`.

    The default is probability > 0.5 (logit > 0). The reference's rule, an accident of its
    code, is `space: logit, threshold: 0.5` (probability > 0.622).
    """

    threshold: float = attrs.field(default=0.5, converter=float)
    space: str = "probability"

    def __attrs_post_init__(self) -> None:
        if self.space not in DECISION_SPACES:
            raise ValueError(f"unknown decision space {self.space!r}; expected one of: {', '.join(DECISION_SPACES)}")
        if not math.isfinite(self.threshold):
            raise ValueError(f"the threshold must be a finite number, got {self.threshold}")
        if self.space == "probability" and not 0.0 < self.threshold < 1.0:
            raise ValueError(f"a probability threshold must be in (0, 1), got {self.threshold}")

    @property
    def logit_cutoff(self) -> float:
        if self.space == "logit":
            return self.threshold
        return math.log(self.threshold / (1.0 - self.threshold))

    @property
    def probability_cutoff(self) -> float:
        return 1.0 / (1.0 + math.exp(-self.logit_cutoff))

    def on_logits(self, logits: np.ndarray) -> np.ndarray:
        # Compared in float32, as the compiled evaluation does, so both agree bit for bit.
        return np.asarray(logits, np.float32) > np.float32(self.logit_cutoff)

    def on_probabilities(self, probabilities: np.ndarray) -> np.ndarray:
        return np.asarray(probabilities) > self.probability_cutoff


def binarize_truth(mask: np.ndarray) -> np.ndarray:
    """Truth masks in [0, 1] (possibly soft at resized edges) to booleans."""
    return np.asarray(mask) >= TRUTH_THRESHOLD


def binarize_mask(raw: np.ndarray, threshold: float | None = None) -> np.ndarray:
    """A mask file's pixels to booleans: >= `threshold` (train_input.mask_threshold) when given,
    else from half the mask's full scale on (0/255 masks from 128, 0/1 masks from 1), the rule
    binarize_truth applies to masks scaled to [0, 1]."""
    raw = np.asarray(raw)
    cutoff = threshold if threshold is not None else TRUTH_THRESHOLD * max(float(raw.max(initial=0)), 1.0)
    return raw >= cutoff


def to_uint8_mask(decision: np.ndarray) -> np.ndarray:
    """A boolean decision as the 0/255 picture users and the DAGM labels expect."""
    mask = np.asarray(decision, dtype=bool).astype(np.uint8)  # 1 byte a pixel, no wider temporary
    mask *= 255
    return mask


