"""A few numbers that say how a measured quantity spreads (the planner's fingerprints)."""

from __future__ import annotations

from collections.abc import Sequence

import attrs
import numpy as np


@attrs.frozen
class Quantiles:
    low: float  # 10th percentile
    median: float
    high: float  # 90th percentile
    minimum: float
    maximum: float

    @classmethod
    def of(cls, values: Sequence[float]) -> Quantiles:
        if not len(values):
            return cls(0.0, 0.0, 0.0, 0.0, 0.0)
        data = np.asarray(values, np.float64)
        low, median, high = np.percentile(data, [10, 50, 90])
        return cls(float(low), float(median), float(high), float(data.min()), float(data.max()))

    def as_dict(self, digits: int = 1) -> dict[str, float]:
        return {key: round(value, digits) for key, value in attrs.asdict(self).items()}
