"""The line's operating point: what a part-level decision does to defective and good parts, and
what the ranking by the part score could do at a fixed false-alarm rate.

A line manager reads it as "finds 97 of 100 bad parts, stops 4 of 100 good ones": the recall of
defective parts and the false-alarm rate (good parts flagged / good parts) at the decision in
force, and the recall the ranking reaches while flagging at most 1 % or 5 % of the good parts.
"""

from __future__ import annotations

from collections.abc import Sequence

import attrs
import numpy as np
from numpy.typing import ArrayLike

# The false-alarm rates at which the ranking's recall is reported.
FALSE_ALARM_RATES = (0.01, 0.05)


def recall_at_false_alarm_rate(scores: ArrayLike, defective: ArrayLike, rate: float) -> float | None:
    """The largest share of defective parts a threshold on `scores` flags while flagging at most
    `rate` of the good parts (flagged: score strictly above the threshold, so tied scores go
    together); None unless both kinds of part occur."""
    values, truth = np.asarray(scores, np.float64), np.asarray(defective, bool)
    good, bad = np.sort(values[~truth])[::-1], values[truth]
    if not len(good) or not len(bad):
        return None
    allowed = int(np.floor(rate * len(good) + 1e-9))  # false alarms the rate admits
    if allowed >= len(good):
        return 1.0
    return float(np.count_nonzero(bad > good[allowed]) / len(bad))


@attrs.frozen
class OperatingPoint:
    defective: int  # defective parts (truth)
    found: int  # of them flagged
    good: int  # good parts (truth)
    stopped: int  # of them flagged: false alarms
    # (false-alarm rate, recall the ranking reaches there), for FALSE_ALARM_RATES
    recall_at: tuple[tuple[float, float | None], ...] = ()

    @classmethod
    def of(cls, defective: Sequence[bool], flagged: Sequence[bool], scores: Sequence[float] | None = None,
           rates: Sequence[float] = FALSE_ALARM_RATES) -> OperatingPoint:
        truth, flags = np.asarray(defective, bool), np.asarray(flagged, bool)
        if truth.shape != flags.shape:
            raise ValueError(f"{truth.size} parts in truth, {flags.size} verdicts")
        ranked = () if scores is None else tuple((rate, recall_at_false_alarm_rate(scores, truth, rate))
                                                 for rate in rates)
        return cls(defective=int(truth.sum()), found=int((truth & flags).sum()), good=int((~truth).sum()),
                   stopped=int((~truth & flags).sum()), recall_at=ranked)

    @property
    def recall(self) -> float | None:
        return self.found / self.defective if self.defective else None

    @property
    def false_alarm_rate(self) -> float | None:
        return self.stopped / self.good if self.good else None

    def as_dict(self) -> dict:
        return {"defective_parts": self.defective, "found": self.found, "good_parts": self.good,
                "false_alarms": self.stopped, "image_recall": self.recall, "false_alarm_rate": self.false_alarm_rate,
                "recall_at_false_alarm_rate": {f"{rate:g}": recall for rate, recall in self.recall_at}}

    def why_no_ranking(self) -> str:
        """Why no AUROC (nor recall at a false-alarm rate) can be given for these parts."""
        if not self.good and not self.defective:
            return "no part was scored"
        kind = "defective" if not self.good else "good"
        return f"every one of the {self.good + self.defective} parts is {kind}: a ranking needs both kinds"

    def sentence(self) -> str:
        """One line a line manager reads: counts, and per 100 parts."""
        parts = []
        if self.defective:
            parts.append(f"finds {self.found} of {self.defective} bad parts ({_per_hundred(self.recall)} of 100)")
        if self.good:
            parts.append(f"stops {self.stopped} of {self.good} good ones ({_per_hundred(self.false_alarm_rate)} of 100)")
        ranked = [f"{_per_hundred(recall)} of 100 bad parts at {rate:.0%} false alarms"
                  for rate, recall in self.recall_at if recall is not None]
        line = ", ".join(parts) or "no parts scored"
        return line + (f"; the ranking could find {' or '.join(ranked)}" if ranked else "")


def _per_hundred(share: float | None) -> str:
    return "n/a" if share is None else f"{100 * share:.0f}"
