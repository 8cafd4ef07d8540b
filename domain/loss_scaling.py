"""The reference's own dynamic loss scaling rule ("dynamic"), as a pure state transition.

Each step counts itself and, when its gradients overflowed, an overflow. When more than
`overflow_tolerance` of the steps since the last change overflowed, the scale halves and the
counts restart. After `steps_per_increase` steps since the last change, the scale doubles and
the counts restart. The scale stays within [min_loss_scale, max_loss_scale]. A step whose
gradients overflowed is not applied.
"""

from __future__ import annotations

import attrs


@attrs.frozen
class LossScaleState:
    scale: float
    steps: int = 0  # since the last change of the scale
    overflows: int = 0  # among those steps


@attrs.frozen(kw_only=True)
class DynamicLossScaleRule:
    initial_scale: float = 2.0**15
    steps_per_increase: int = 2000
    min_scale: float = 2.0**-14
    max_scale: float = 2.0**15
    overflow_tolerance: float = 0.05

    def start(self) -> LossScaleState:
        return LossScaleState(self.initial_scale)

    def update(self, state: LossScaleState, finite: bool) -> LossScaleState:
        steps = state.steps + 1
        overflows = state.overflows + (0 if finite else 1)
        scale = state.scale
        if overflows / steps > self.overflow_tolerance:
            scale, steps, overflows = scale / 2.0, 0, 0
        if steps >= self.steps_per_increase:
            scale, steps, overflows = scale * 2.0, 0, 0
        return LossScaleState(min(max(scale, self.min_scale), self.max_scale), steps, overflows)
