"""Learning-rate schedules as the reference's YAML writes them.

`learning_rate` is a number, one mapping, or a list of mappings run one after another. Each
mapping names its `scheduler` and that scheduler's keys:

- Constant: learning_rate (and steps, when it is not the last)
- Exponential: initial_learning_rate, decay_steps, decay_rate, staircase (False)
- PiecewiseConstant: boundaries, values (one more value than boundaries)
- Polynomial / Linear: initial_learning_rate, end_learning_rate, steps, power (1; Linear: 1), cycle (False)
- Cosine: initial_learning_rate, decay_steps, alpha (0)

In a list, every schedule but the last needs `steps` (Cosine: `decay_steps`); the next starts
counting its steps from 0 where it begins (unless optimizer.disable_lr_steps_reset).
`rate(step)` is the reference formula in plain Python; the TensorFlow adapter evaluates the
same segments in the graph.
"""

from __future__ import annotations

import math
from typing import Any

import attrs

from unet_defects.domain.errors import ConfigError

REQUIRED = {
    "Constant": ("learning_rate",),
    "Exponential": ("initial_learning_rate", "decay_steps", "decay_rate"),
    "PiecewiseConstant": ("boundaries", "values"),
    "Polynomial": ("initial_learning_rate", "end_learning_rate", "steps"),
    "Linear": ("initial_learning_rate", "end_learning_rate", "steps"),
    "Cosine": ("initial_learning_rate", "decay_steps"),
}
OPTIONAL: dict[str, dict[str, Any]] = {
    "Constant": {"steps": None},
    "Exponential": {"staircase": False, "steps": None},
    "PiecewiseConstant": {"steps": None},
    "Polynomial": {"power": 1.0, "cycle": False},
    "Linear": {"cycle": False},
    "Cosine": {"alpha": 0.0, "steps": None},
}


@attrs.frozen
class Segment:
    scheduler: str
    values: dict[str, Any]
    start: int  # first global step of this segment
    length: int | None  # None for the last segment

    def rate(self, step: int) -> float:
        p = self.values
        kind = self.scheduler
        if kind == "Constant":
            return float(p["learning_rate"])
        if kind == "Exponential":
            exponent = step / p["decay_steps"]
            return p["initial_learning_rate"] * p["decay_rate"] ** (math.floor(exponent) if p["staircase"] else exponent)
        if kind == "PiecewiseConstant":
            for boundary, value in zip(p["boundaries"], p["values"]):
                if step <= boundary:
                    return float(value)
            return float(p["values"][-1])
        if kind in ("Polynomial", "Linear"):
            decay_steps = p["steps"]
            if p["cycle"]:
                decay_steps = decay_steps * max(1, math.ceil(step / decay_steps))
            else:
                step = min(step, decay_steps)
            power = 1.0 if kind == "Linear" else p["power"]
            fraction = (1 - step / decay_steps) ** power
            return (p["initial_learning_rate"] - p["end_learning_rate"]) * fraction + p["end_learning_rate"]
        # Cosine
        step = min(step, p["decay_steps"])
        cosine = 0.5 * (1 + math.cos(math.pi * step / p["decay_steps"]))
        return p["initial_learning_rate"] * ((1 - p["alpha"]) * cosine + p["alpha"])


def _number(where: str, value: Any, positive: bool = False) -> float:
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            pass
    if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value):
        raise ConfigError(f"{where}: expected a number, got {value!r}")
    if positive and value <= 0:
        raise ConfigError(f"{where}: must be > 0, got {value}")
    return float(value)


def _steps(where: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(f"{where}: expected a whole number of steps >= 1, got {value!r}")
    return value


def _segment_values(where: str, mapping: dict) -> tuple[str, dict[str, Any]]:
    kind = mapping.get("scheduler")
    if kind not in REQUIRED:
        raise ConfigError(f"{where}.scheduler: expected one of {', '.join(REQUIRED)}, got {kind!r}")
    known = {"scheduler", *REQUIRED[kind], *OPTIONAL[kind]}
    for key in mapping:
        if key not in known:
            raise ConfigError(f"{where}.{key}: unknown key for {kind}; known: {', '.join(sorted(known - {'scheduler'}))}")
    for key in REQUIRED[kind]:
        if key not in mapping:
            raise ConfigError(f"{where}.{key}: required by the {kind} scheduler")
    values = {**OPTIONAL[kind], **{k: v for k, v in mapping.items() if k != "scheduler"}}
    for key in ("learning_rate", "initial_learning_rate", "end_learning_rate", "decay_rate", "power", "alpha"):
        if key in values:
            values[key] = _number(f"{where}.{key}", values[key], positive=key == "decay_rate")
    for key in ("decay_steps", "steps"):
        if values.get(key) is not None:
            values[key] = _steps(f"{where}.{key}", values[key])
    for key in ("staircase", "cycle"):
        if key in values and not isinstance(values[key], bool):
            raise ConfigError(f"{where}.{key}: expected true or false, got {values[key]!r}")
    if kind == "PiecewiseConstant":
        boundaries, rates = values["boundaries"], values["values"]
        if not isinstance(boundaries, list) or not isinstance(rates, list) or len(rates) != len(boundaries) + 1:
            raise ConfigError(f"{where}.values: needs one more value than boundaries ({len(boundaries) + 1})")
        values["boundaries"] = [_steps(f"{where}.boundaries", b) for b in boundaries]
        if values["boundaries"] != sorted(set(values["boundaries"])):
            raise ConfigError(f"{where}.boundaries: must increase, got {boundaries}")
        values["values"] = [_number(f"{where}.values", v) for v in rates]
    return kind, values


@attrs.frozen
class LearningRateSchedule:
    segments: tuple[Segment, ...]
    reset_steps: bool = True

    @classmethod
    def parse(cls, value: Any, reset_steps: bool = True, where: str = "optimizer.learning_rate") -> LearningRateSchedule:
        if isinstance(value, (int, float, str)) and not isinstance(value, bool):
            rate = _number(where, value, positive=True)
            return cls((Segment("Constant", {"learning_rate": rate, "steps": None}, 0, None),), reset_steps)
        mappings = value if isinstance(value, (list, tuple)) else [value]
        if not mappings or not all(isinstance(m, dict) for m in mappings):
            raise ConfigError(f"{where}: expected a number, a scheduler mapping or a list of them")
        segments: list[Segment] = []
        start = 0
        for index, mapping in enumerate(mappings):
            at = f"{where}[{index}]" if isinstance(value, (list, tuple)) else where
            kind, values = _segment_values(at, mapping)
            last = index == len(mappings) - 1
            length = values.get("steps") or (values.get("decay_steps") if kind == "Cosine" else None)
            if not last and length is None:
                raise ConfigError(f"{at}.steps: every schedule but the last needs steps")
            segments.append(Segment(kind, values, start, None if last else length))
            start += length or 0
        return cls(tuple(segments), reset_steps)

    def is_constant(self) -> bool:
        return len(self.segments) == 1 and self.segments[0].scheduler == "Constant"

    def rate(self, step: int) -> float:
        for segment in self.segments:
            if segment.length is None or step < segment.start + segment.length:
                return segment.rate(step - segment.start if self.reset_steps else step)
        raise AssertionError("the last segment has no end")


def budget_position(step: int, target: int, seconds_left: float, seconds_per_step: float) -> float:
    """Where a schedule that follows the budget stands (`optimizer.schedule_follows: time_budget`):
    the step reached, or, when the budget left at this pace (`seconds_per_step`, evaluations
    included) ends training before `target`, as far ahead as puts the schedule's last step on the
    last step the budget allows. On a machine as fast as planned the budget outlasts the steps and
    the schedule runs by them; on a slower one it is compressed into the steps there is time for."""
    if seconds_per_step <= 0:
        return float(step)
    return max(float(step), target - max(seconds_left, 0.0) / seconds_per_step)


# The pace counts over a twentieth of the run's steps or more: the lead never goes back, so a
# pace taken from a few steps would keep their noise.
PACE_SPAN_DIVISOR = 20


@attrs.define
class BudgetPace:
    """The lead of a schedule that follows the budget, call by call: the pace counts from the end
    of the first call (whose tracing it must not see), and the schedule's position never goes back."""

    start: int
    target: int
    deadline: float  # on the trainer's clock
    position: float = attrs.field(init=False)
    paced: tuple[float, int] | None = attrs.field(init=False, default=None)  # (time, step) the pace counts from

    def __attrs_post_init__(self) -> None:
        self.position = float(self.start)

    def lead(self, now: float, step: int) -> float | None:
        """Steps the schedule stands ahead of `step` after a call ending at `now`; None until a
        pace is measured."""
        if self.paced is None:
            self.paced = (now, step)
            return None
        if step - self.paced[1] < max(1, (self.target - self.start) // PACE_SPAN_DIVISOR):
            return None
        pace = (now - self.paced[0]) / (step - self.paced[1])
        self.position = max(self.position, budget_position(step, self.target, self.deadline - now, pace))
        return self.position - step
