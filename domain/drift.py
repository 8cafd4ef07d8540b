"""Drift on the line: how far what arrives has moved from what the model was trained on.

Five statistics, one value per image: its mean gray level, its exposure spread (the standard
deviation of its gray levels: the planner's `mean` and `spread` of an image, one computation
here for both), its size in pixels, its part score (domain.part_score) and whether it was
flagged (1 or 0, so the mean of a window is the share of parts flagged).

Each is compared by its population stability index (PSI) over the reference's decile bins:
the sum over the bins of (window share - reference share) * ln(window share / reference share).
Deciles that coincide (every training image the same size, most parts good) merge into one
edge; when the lowest edge is the reference's minimum, an edge just below it gives the values
under the minimum a bin of their own (empty on the reference's side), as the open top bin does
the values over the maximum. The flagged share has two fixed bins, not flagged and flagged, so
a rise and a fall both show whatever the reference's share. A bin empty on either side counts
as FLOOR, so an empty bin gives a large, finite term.

How many bins a statistic is judged over is chosen when it is judged (`judging_bins`): the PSI
of two samples of one distribution is about chi-square with (bins - 1) degrees of freedom times
(1/n_reference + 1/n_window), so a small reference is judged over fewer, merged bins, or not at
all when even two bins' calm PSI would pass its bound (docs/serve.md, Drift).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import attrs
import numpy as np

from unet_defects.domain.errors import DataError

MEAN_GRAY, EXPOSURE_SPREAD, SIZE, PART_SCORE, FLAGGED = (
    "mean_gray", "exposure_spread", "size", "part_score", "flagged_share")
INPUT_STATISTICS = (MEAN_GRAY, EXPOSURE_SPREAD, SIZE)  # of the image alone: the training images give them
SCORE_STATISTICS = (PART_SCORE, FLAGGED)  # of the model's verdict: held-out parts give them
STATISTICS = INPUT_STATISTICS + SCORE_STATISTICS
BINS = 10  # deciles
JUDGING_BINS = (10, 5, 2)  # deciles, merged into quintiles or halves for a small reference
FLOOR = 1e-4  # the share an empty bin counts as
# Chi-square's 99.9 % quantile by degrees of freedom: a calm window's PSI stays under it times
# (1/n_reference + 1/n_window) 999 times in 1000.
CALM_QUANTILE = {1: 10.83, 2: 13.82, 3: 16.27, 4: 18.47, 5: 20.52, 6: 22.46, 7: 24.32, 8: 26.12, 9: 27.88}

# Pixels summed at once: the squares' uint16 copy stays a few MB whatever the image's size.
_CHUNK = 1 << 22


def gray_statistics(gray: np.ndarray) -> tuple[float, float]:
    """An image's mean gray level and exposure spread (the standard deviation of its gray levels)."""
    mean, spread = gray_statistics_of([gray])[0]
    return float(mean), float(spread)


def gray_statistics_of(images: Sequence[np.ndarray]) -> np.ndarray:
    """(N, 2): each image's mean gray level and exposure spread. uint8 images (what the Inspector
    sees) are summed exactly in integers, images of one shape together: several times faster than
    float64 over each image's pixels, which the Inspector pays for every image."""
    found = np.empty((len(images), 2))
    groups: dict[tuple, list[int]] = {}
    for index, image in enumerate(images):
        groups.setdefault((image.shape, image.dtype == np.uint8), []).append(index)
    for (shape, exact), indices in groups.items():
        if not exact:
            for index in indices:
                values = np.asarray(images[index], np.float64)
                found[index] = values.mean(), values.std()
            continue
        pixels = int(np.prod(shape))
        together = max(1, _CHUNK // max(pixels, 1))
        for start in range(0, len(indices), together):
            chosen = indices[start:start + together]
            flat = np.stack([images[i].reshape(-1) for i in chosen])
            total, squares = _sums(flat)
            mean = total / pixels
            found[chosen, 0] = mean
            found[chosen, 1] = np.sqrt(np.maximum(squares / pixels - mean * mean, 0.0))
    return found


def _sums(flat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each row's sum and sum of squares, exact (uint8 squared fits uint16)."""
    total = np.zeros(len(flat), np.uint64)
    squares = np.zeros(len(flat), np.uint64)
    for start in range(0, flat.shape[1], _CHUNK):
        part = flat[:, start:start + _CHUNK]
        total += part.sum(axis=1, dtype=np.uint64)
        wide = part.astype(np.uint16)
        wide *= wide
        squares += wide.sum(axis=1, dtype=np.uint64)
    return total.astype(np.float64), squares.astype(np.float64)


def psi(expected: np.ndarray | Sequence[float], actual: np.ndarray | Sequence[float], floor: float = FLOOR) -> float:
    """The population stability index of `actual` shares against `expected` ones, bin by bin."""
    e = np.maximum(np.asarray(expected, np.float64), floor)
    a = np.maximum(np.asarray(actual, np.float64), floor)
    return float(np.sum((a - e) * np.log(a / e)))


@attrs.frozen
class Distribution:
    """A statistic's reference: its inner bin edges (bin i holds the values in (edges[i-1],
    edges[i]]; the first and last bins are open), each bin's share, the mean and the count."""

    edges: tuple[float, ...] = attrs.field(converter=lambda v: tuple(float(x) for x in v))
    shares: tuple[float, ...] = attrs.field(converter=lambda v: tuple(float(x) for x in v))
    mean: float
    count: int

    def __attrs_post_init__(self) -> None:
        if len(self.shares) != len(self.edges) + 1:
            raise ValueError(f"{len(self.shares)} shares for {len(self.edges)} edges (expected one more)")
        if any(b <= a for a, b in zip(self.edges, self.edges[1:])):
            raise ValueError(f"edges must increase, got {list(self.edges)}")

    @classmethod
    def of(cls, values: Sequence[float] | np.ndarray, bins: int = BINS) -> Distribution:
        data = np.asarray(values, np.float64)
        if not data.size:
            raise ValueError("a distribution of no values")
        edges = np.unique(np.quantile(data, np.arange(1, bins) / bins))
        if edges[0] <= data.min():  # the first bin would take the values under the minimum too
            edges = np.concatenate([[np.nextafter(data.min(), -np.inf)], edges])
        return cls(edges, _shares(edges, data), float(data.mean()), int(data.size))

    @classmethod
    def of_flags(cls, flags: Sequence[float] | np.ndarray) -> Distribution:
        """Two fixed bins, 0 and 1: a fall from a share near 1 shows as a rise from near 0 does."""
        data = np.asarray(flags, np.float64)
        if not data.size:
            raise ValueError("a distribution of no values")
        return cls((0.0,), _shares(np.zeros(1), data), float(data.mean()), int(data.size))

    @property
    def held_bins(self) -> int:
        """The bins holding some of the reference's values."""
        return sum(share > 0 for share in self.shares)

    def calm_psi(self, window: int) -> float:
        """The PSI a window of `window` images drawn from this distribution stays under 999 times
        in 1000 (chi-square's approximation). Every bin counts, those the reference left empty
        too: 20 parts none flagged do not show that the line flags none."""
        freedom = len(self.shares) - 1
        if freedom < 1:
            return 0.0
        return CALM_QUANTILE.get(freedom, CALM_QUANTILE[9]) * (1 / self.count + 1 / window)

    def merged(self, bins: int) -> Distribution:
        """At most `bins` held bins, by merging neighbours at the edges nearest the 1/bins
        steps of the shares (deciles into quintiles or halves); a bin empty on the reference's
        side at either end keeps its edge, so values past the reference's range still show."""
        if self.held_bins <= bins:
            return self
        cumulative = np.cumsum(self.shares)[:-1]  # the share under each edge
        kept = {int(np.argmin(np.abs(cumulative - step / bins))) for step in range(1, bins)}
        if self.shares[0] == 0:
            kept.add(0)
        if self.shares[-1] == 0:
            kept.add(len(self.edges) - 1)
        chosen = sorted(kept)
        bounds = [0, *(index + 1 for index in chosen), len(self.shares)]
        shares = [sum(self.shares[a:b]) for a, b in zip(bounds, bounds[1:])]
        return Distribution([self.edges[i] for i in chosen], shares, self.mean, self.count)

    def judging_bins(self, window: int, bound: float) -> Distribution | None:
        """The finest of deciles, quintiles and halves whose calm PSI over a window of `window`
        images stays under `bound`; None when none does (the reference is too small for it)."""
        for bins in JUDGING_BINS:
            found = self.merged(bins)
            if found.calm_psi(window) < bound:
                return found
        return None

    def shares_of(self, values: np.ndarray) -> np.ndarray:
        """The share of `values` in each of this distribution's bins."""
        return _shares(np.asarray(self.edges), np.asarray(values, np.float64))

    def psi(self, values: np.ndarray) -> float:
        """The PSI of `values` (a window) against this reference."""
        return psi(self.shares, self.shares_of(values))

    def as_dict(self) -> dict:
        # Edges unrounded: a head's scores on good parts are often under 1e-6, and rounded
        # they would collapse into equal edges, which from_dict refuses.
        return {"edges": [float(e) for e in self.edges], "shares": [round(s, 6) for s in self.shares],
                "mean": round(self.mean, 6), "count": self.count}

    @classmethod
    def from_dict(cls, payload: object, where: str) -> Distribution:
        if not isinstance(payload, Mapping) or set(payload) != {"edges", "shares", "mean", "count"}:
            raise DataError(f"{where}: expected edges, shares, mean and count")
        try:
            return cls(payload["edges"], payload["shares"], float(payload["mean"]), int(payload["count"]))
        except (TypeError, ValueError) as error:
            raise DataError(f"{where}: {str(error).splitlines()[0]}") from None


def _shares(edges: np.ndarray, data: np.ndarray) -> np.ndarray:
    if not data.size:
        return np.zeros(len(edges) + 1)
    return np.bincount(np.searchsorted(edges, data, side="left"), minlength=len(edges) + 1) / data.size
