"""The part score: the one number that ranks parts, everywhere.

`image_AUROC` in results.json, `score` in predictions.jsonl, the Inspector's `Inspection.score`
and the server's answers all rank parts by it, and results.json names it (`image_AUROC_score`).
With a classifier head it is the head's probability that the part has a defect of the class
(on the real magnetic tiles it ranked parts far better than the largest pixel probability:
docs/own-data.md); without one it is the largest pixel probability. The largest pixel
probability stays reported beside it (`image_AUROC_max_probability`) for comparison.
"""

from __future__ import annotations

from collections.abc import Sequence

PEAK = "max_probability"
CLASSIFIER = "classifier"
SCORE_WORDS = {CLASSIFIER: "the classifier head's probability", PEAK: "the largest probability"}


def score_name(has_head: bool) -> str:
    return CLASSIFIER if has_head else PEAK


def class_scores(peaks: Sequence[float], head: Sequence[float] | None) -> tuple[float, ...]:
    """Each class's part score from its largest pixel probability and, with a head, its probability."""
    if head is None:
        return tuple(float(p) for p in peaks)
    if len(head) != len(peaks):
        raise ValueError(f"{len(head)} classifier probabilities for {len(peaks)} classes")
    return tuple(float(h) for h in head)


def part_score(peaks: Sequence[float], head: Sequence[float] | None) -> float:
    """The part's score: its highest class score (0 for a part with no pixel scored)."""
    return max(class_scores(peaks, head), default=0.0)
