"""The line's side of drift: the last N images' statistics (a ring of rows), the settings that
bound them, and the figures a window gives against the reference (domain.drift_reference)."""

from __future__ import annotations

from collections.abc import Mapping

import attrs
import numpy as np

from unet_defects.domain.drift import STATISTICS
from unet_defects.domain.drift_reference import DriftReference
from unet_defects.domain.errors import ConfigError

DEFAULT_WINDOW = 500
# Below this many images a window's PSI is mostly its own sampling noise (docs/serve.md, Drift).
DEFAULT_MIN_IMAGES = 200
# PSI above 0.25 is commonly read as a significant shift; each statistic is judged over as many
# bins as keep a calm window's PSI under its bound (Distribution.judging_bins; docs/serve.md).
DEFAULT_BOUND = 0.25
# An alarm re-arms once its statistic is back under this share of its bound (no flapping line).
REARM = 0.5


def _positive_bounds(bounds: Mapping[str, float]) -> dict[str, float]:
    unknown = sorted(set(bounds) - set(STATISTICS))
    if unknown:
        raise ConfigError(f"drift bounds: unknown statistic {unknown[0]!r}; expected one of: {', '.join(STATISTICS)}")
    for name, value in bounds.items():
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"drift bounds: {name} must be a number (a PSI), got {value!r}")
        if not value > 0:
            raise ConfigError(f"drift bounds: {name} must be above 0 (a PSI), got {value}")
    return {name: float(bounds.get(name, DEFAULT_BOUND)) for name in STATISTICS}


@attrs.frozen
class DriftSettings:
    """`window`: images kept (0 turns drift off); `min_images`: no judgement below; `bounds`:
    each statistic's PSI bound (those not named keep DEFAULT_BOUND)."""

    window: int = DEFAULT_WINDOW
    min_images: int = DEFAULT_MIN_IMAGES
    bounds: dict[str, float] = attrs.field(factory=dict, converter=_positive_bounds)

    def __attrs_post_init__(self) -> None:
        if self.window < 0:
            raise ConfigError(f"drift_window: must be 0 (off) or more images, got {self.window}")
        if self.min_images < 1:
            raise ConfigError(f"drift_min_images: must be 1 or more, got {self.min_images}")

    @property
    def judging_from(self) -> int:
        """The images a window holds before it is judged (never more than it can hold)."""
        return min(self.min_images, self.window)


def parse_bounds(text: str) -> dict[str, float]:
    """`0.2` (every statistic) or `mean_gray=0.1,flagged_share=0.5` (those named)."""
    try:
        if "=" not in text:
            return dict.fromkeys(STATISTICS, float(text))
        pairs = [item.split("=", 1) for item in text.split(",") if item.strip()]
        return {name.strip(): float(value) for name, value in pairs}
    except ValueError:
        raise ConfigError(f"--drift_bounds {text!r}: expected a number, or NAME=NUMBER,... with NAME one of: "
                          f"{', '.join(STATISTICS)}") from None


class DriftWindow:
    """The last `size` images' rows (one value per statistic of STATISTICS), oldest overwritten."""

    def __init__(self, size: int) -> None:
        self._rows = np.zeros((size, len(STATISTICS)))
        self._next = 0
        self.held = 0
        self.seen = 0

    def add(self, rows: np.ndarray) -> None:
        size = len(self._rows)
        if size:
            kept = rows[-size:]
            self._rows[(self._next + np.arange(len(kept))) % size] = kept
            self._next = (self._next + len(kept)) % size
        self.held = min(self.held + len(rows), size)
        self.seen += len(rows)

    def values(self) -> np.ndarray:
        """The rows held (a copy), in no particular order."""
        return self._rows[:self.held].copy()

    def snapshot(self) -> DriftWindow:
        """A copy to read while this one goes on taking rows."""
        copy = DriftWindow(0)
        copy._rows, copy.held, copy.seen = self.values(), self.held, self.seen
        return copy


@attrs.frozen
class StatisticDrift:
    name: str
    psi: float | None  # None: no reference for it
    bound: float
    window: float | None  # the window's mean (for flagged_share: the share flagged)
    reference: float | None  # the reference's mean
    bins: int | None = None  # the reference's bins it is judged over; None: not judged

    def as_dict(self) -> dict:
        rounded = lambda v: None if v is None else round(v, 4)  # noqa: E731
        return {"psi": rounded(self.psi), "bound": self.bound, "window": rounded(self.window),
                "reference": rounded(self.reference), "bins": self.bins}


@attrs.frozen
class DriftFigures:
    """The window against the reference, now. `judged`: the window holds `min_images` and there
    is a reference; only then do statistics count as drifted."""

    window: int  # images it keeps
    images: int  # images it holds
    seen: int  # images inspected since the model was opened
    min_images: int
    reference: str | None  # where the reference came from, in words; None without one
    statistics: tuple[StatisticDrift, ...] = ()
    note: str = ""

    @property
    def judged(self) -> bool:
        return self.reference is not None and self.images >= self.min_images

    @property
    def drifted(self) -> tuple[str, ...]:
        if not self.judged:
            return ()
        return tuple(s.name for s in self.statistics if s.psi is not None and s.psi > s.bound)

    def statistic(self, name: str) -> StatisticDrift:
        found = [s for s in self.statistics if s.name == name]
        if not found:
            raise KeyError(f"no statistic {name!r}; expected one of: {', '.join(s.name for s in self.statistics)}")
        return found[0]

    def as_dict(self) -> dict:
        return {"window": self.window, "images": self.images, "seen": self.seen, "min_images": self.min_images,
                "judged": self.judged, "drifted": list(self.drifted), "reference": self.reference, "note": self.note,
                "statistics": {s.name: s.as_dict() for s in self.statistics}}


def drift_figures(reference: DriftReference | None, window: DriftWindow, settings: DriftSettings,
                  problem: str = "") -> DriftFigures:
    """`problem`: why the model's reference could not be read, in words (then `reference` is None)."""
    values = window.values()
    held = reference.distributions() if reference is not None else {}
    statistics, unjudged = [], []
    for column, name in enumerate(STATISTICS):
        own, found, bound = values[:, column], held.get(name), settings.bounds[name]
        judging = None if found is None else found.judging_bins(settings.judging_from, bound)
        if found is not None and judging is None:
            unjudged.append(f"{name} not judged: its reference of {found.count} values is too few for a bound of "
                            f"{bound:g} over {settings.judging_from} images (two bins' calm PSI "
                            f"{found.merged(2).calm_psi(settings.judging_from):.2f}); raise its bound or record a "
                            "larger reference")
        statistics.append(StatisticDrift(
            name, None if judging is None or not own.size else judging.psi(own), bound,
            float(own.mean()) if own.size else None, None if found is None else found.mean,
            None if judging is None else len(judging.shares)))
    told = problem if problem and reference is None else _note(reference, window.held, settings)
    note = "; ".join(filter(None, [told, *unjudged]))
    return DriftFigures(settings.window, window.held, window.seen, settings.judging_from,
                        None if reference is None else reference.describe(), tuple(statistics), note)


def _note(reference: DriftReference | None, held: int, settings: DriftSettings) -> str:
    if settings.window == 0:
        return "drift is off (window 0)"
    if reference is None:
        return ("this model has no drift reference (trained before drift was measured, or an export made "
                "before it): the window's figures only; train again or run unet calibrate, then export again")
    missing = [] if reference.scores is not None else ["no score reference: run unet calibrate to add one"]
    missing += [] if reference.inputs is not None else ["no input reference: train again to add one"]
    waiting = [f"judged from {settings.judging_from} images on"] if held < settings.judging_from else []
    return "; ".join(waiting + missing)
