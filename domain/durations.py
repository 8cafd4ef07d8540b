"""Durations as people write them (`30m`, `1h30m`, `90s`, `1.5h`, or a number of seconds), and back."""

from __future__ import annotations

import math
import re

from unet_defects.domain.errors import ConfigError

UNITS = {"h": 3600.0, "m": 60.0, "s": 1.0}
_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)\s*([hms])")


def parse_duration(value: object, where: str = "duration") -> float:
    """Seconds from `30m`, `1h30m`, `1.5h`, `90s` or a plain number of seconds; > 0."""
    if isinstance(value, bool):
        raise ConfigError(f"{where}: expected a duration such as 30m, 1h30m or 90s, got {value!r}")
    if isinstance(value, (int, float)):
        seconds = float(value)
    elif isinstance(value, str):
        text = value.strip().lower().replace(" ", "")
        try:
            seconds = float(text)
        except ValueError:
            parts = _PART.findall(text)
            if not parts or "".join(number + unit for number, unit in parts) != text:
                raise ConfigError(f"{where}: expected a duration such as 30m, 1h30m or 90s, got {value!r}") from None
            seconds = sum(float(number) * UNITS[unit] for number, unit in parts)
    else:
        raise ConfigError(f"{where}: expected a duration such as 30m, 1h30m or 90s, got {value!r}")
    if not math.isfinite(seconds) or seconds <= 0:
        raise ConfigError(f"{where}: must be longer than 0 seconds, got {value!r}")
    return seconds


def format_duration(seconds: float) -> str:
    """`1h05m`, `30m`, `2m30s`, `45s`: the shortest plain form, to the second."""
    total = max(0, int(round(seconds)))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes:02d}m" if not secs else f"{hours}h{minutes:02d}m{secs:02d}s"
    if minutes:
        return f"{minutes}m" if not secs else f"{minutes}m{secs:02d}s"
    return f"{secs}s"


def projected_seconds(elapsed: float, steps_done: int, steps_left: int,
                      time_budget: float | None = None) -> tuple[float, str]:
    """Seconds from the start until training ends at the pace so far, and what ends it:
    "max_steps", or "time_budget" when the budget runs out first."""
    by_steps = elapsed + (elapsed / steps_done * steps_left if steps_done else float("inf"))
    if time_budget is not None and time_budget < by_steps:
        return time_budget, "time_budget"
    return by_steps, "max_steps"


def median_step_seconds(calls: list[tuple[float, int]]) -> float | None:
    """The median seconds a step over calls of (seconds a step, steps), each step counting once
    (a call of 200 steps weighs 100 times one of 2); None without a call."""
    if not calls:
        return None
    ordered = sorted(calls)
    half, seen = sum(steps for _, steps in ordered) / 2, 0
    for seconds, steps in ordered:
        seen += steps
        if seen >= half:
            return seconds
    return ordered[-1][0]
