"""The Inspector's drift window: what arrives, measured image by image, against the model's
reference (domain.drift_window), and one alarm when a statistic passes its bound."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence

import numpy as np

from unet_defects.application.inspection import Inspection
from unet_defects.domain.drift import gray_statistics_of
from unet_defects.domain.drift_reference import DriftReference
from unet_defects.domain.drift_window import REARM, DriftFigures, DriftSettings, DriftWindow, drift_figures

# The figures are checked against the bounds every this many images: a PSI over the window
# costs about as much as one image's statistics times a few hundred.
CHECK_EVERY = 20


class DriftMonitor:
    """Thread-safe: each image's row is computed in the caller's thread, and a short lock adds
    it. With an `alarm`, a statistic newly past its bound is told once (one line naming it and
    any other passing at the same check), and again only after it came back under REARM of its
    bound."""

    def __init__(self, reference: DriftReference | None, settings: DriftSettings = DriftSettings(),
                 alarm: Callable[[str], None] | None = None, check_every: int = CHECK_EVERY,
                 problem: str = "") -> None:
        self._problem = problem  # why the model's reference could not be read (then it is None)
        self._reference = reference
        self._settings = settings
        self._alarm = alarm if reference is not None else None
        self._check_every = check_every
        self._window = DriftWindow(settings.window)
        self._lock = threading.Lock()
        # Checks one at a time: two threads' checks interleaved could leave an older window's
        # raised set over a newer one's (an alarm lost, or told twice).
        self._checking = threading.Lock()
        self._since_check = 0
        self._raised: set[str] = set()

    @property
    def reference(self) -> DriftReference | None:
        return self._reference

    def observe(self, images: Sequence[np.ndarray], inspections: Sequence[Inspection]) -> None:
        """Each (H, W) uint8 image with its inspection."""
        if not self._settings.window:
            return
        rows = np.column_stack([gray_statistics_of(images), [image.shape[0] * image.shape[1] for image in images],
                                [found.score for found in inspections], [found.defective for found in inspections]])
        with self._lock:
            self._window.add(rows)
            self._since_check += len(rows)
            due = self._alarm is not None and self._since_check >= self._check_every
            if due:
                self._since_check = 0
        if due:
            self._check()

    def figures(self) -> DriftFigures:
        with self._lock:
            snapshot = self._window.snapshot()
        return drift_figures(self._reference, snapshot, self._settings, self._problem)

    def _check(self) -> None:
        with self._checking:  # the figures and the raised state they update, together
            figures = self.figures()
            drifted = set(figures.drifted)
            newly = sorted(drifted - self._raised, key=list(s.name for s in figures.statistics).index)
            self._raised |= drifted
            self._raised -= {s.name for s in figures.statistics
                             if s.name not in drifted and (s.psi is None or s.psi < REARM * s.bound)}
        if newly and self._alarm is not None:
            self._alarm(alarm_line(figures, newly))


def alarm_line(figures: DriftFigures, names: Sequence[str]) -> str:
    """One line: each statistic that passed, its PSI against its bound and where it moved."""
    parts = []
    for name in names:
        found = figures.statistic(name)
        parts.append(f"{name} PSI {found.psi:.3f} > {found.bound:g} (window mean {found.window:.4g}, "
                     f"reference {found.reference:.4g})")
    return (f"drift: {'; '.join(parts)} over the last {figures.images} images; docs/serve.md "
            "says what to check")
