"""Which unlabelled images a team should label next: the ones the model is least sure of.

Two measures of one image's uncertainty, both from what inspecting it gives:
- `margin`: how close the part's verdict came to going the other way; per class, the distance
  of the number the verdict compares with its bar (the classifier head's probability and the
  gate's threshold when the gate decides, else the largest pixel probability and the pixel
  threshold), the smallest over the classes. Small: unsure of the part. It leaves out what can
  still turn a verdict after that comparison (min_area, the gate's area bar): the probabilities
  say how sure the model is, the rules then only prune.
- `pixels`: the share of the image's pixels whose probability lies within PIXEL_BAND of the
  pixel threshold. Large: unsure of where the defect is.
`unet review` ranks by one of them (`margin` unless told); both are written for every image.
"""

from __future__ import annotations

from collections.abc import Sequence

import attrs
import numpy as np

from unet_defects.domain.decision import Decision
from unet_defects.domain.gate import OPEN

MEASURES = ("margin", "pixels")
PIXEL_BAND = 0.25  # a pixel this close to the threshold could go either way under a small change


@attrs.frozen
class Uncertainty:
    margin: float  # 0 (on the bar) .. 1
    pixels: float  # share of the image's pixels, 0 .. 1

    def key(self, by: str) -> float:
        """The sort key that puts the least sure image first."""
        return self.margin if by == "margin" else -self.pixels


def _bar(decision: Decision, peak: float, head: float | None) -> float:
    gate = decision.gate
    if decision.gated and head is not None and gate is not None and gate.threshold != OPEN:
        return abs(head - gate.threshold)
    return abs(peak - decision.threshold)


def uncertainty(probabilities: np.ndarray, decisions: Sequence[Decision],
                image_probabilities: np.ndarray | None = None) -> Uncertainty:
    """The two measures of one image's (H, W, K) probabilities under its K decisions."""
    if probabilities.ndim != 3 or probabilities.shape[-1] != len(decisions):
        raise ValueError(f"expected (H, W, {len(decisions)}) probabilities, got shape {probabilities.shape}")
    peaks = probabilities.reshape(-1, probabilities.shape[-1]).max(axis=0)
    margins = [_bar(d, float(peaks[k]), None if image_probabilities is None else float(image_probabilities[k]))
               for k, d in enumerate(decisions)]
    thresholds = np.asarray([d.threshold for d in decisions], np.float32)
    near = np.abs(probabilities - thresholds) < PIXEL_BAND
    return Uncertainty(margin=float(min(margins)), pixels=float(near.any(axis=-1).mean()))


def check_measure(by: str) -> None:
    from unet_defects.domain.errors import ConfigError

    if by not in MEASURES:
        raise ConfigError(f"--by: unknown measure {by!r} (choose from {', '.join(MEASURES)})")


def most_uncertain(scored: Sequence[tuple[str, Uncertainty]], by: str) -> list[tuple[str, Uncertainty]]:
    """The images, least sure first (ties: in the order given)."""
    check_measure(by)
    return sorted(scored, key=lambda item: item[1].key(by))
