"""The `plan` section a planned params file carries (`unet plan`): what the planner measured and
which settings to try first when the model does not learn. No key here changes a run."""

from __future__ import annotations

from typing import Any, ClassVar

import attrs

from unet_defects.domain.validation import fail, is_mapping, is_str, number_in, optional, to_float, to_tuple


def _lines(instance: Any, attribute: Any, value: Any) -> None:
    if not isinstance(value, tuple) or any(not isinstance(item, str) for item in value):
        fail(instance, attribute, f"expected a list of strings, got {value!r}")


@attrs.frozen(kw_only=True)
class PlanRecord:
    SECTION: ClassVar[str] = "plan"

    dataset_path: str = attrs.field(default="", validator=is_str)
    budget: str | None = attrs.field(default=None, validator=optional(is_str))
    # `key: value (why)` lines: the two settings most likely to help when the model does not learn.
    advice: tuple[str, ...] = attrs.field(default=(), converter=to_tuple, validator=_lines)
    fingerprint: dict | None = attrs.field(default=None, validator=optional(is_mapping))
    # What the planner timed a training step at on its machine: the run says how far from it it trained.
    seconds_per_step: float | None = attrs.field(default=None, converter=to_float,
                                                 validator=optional(number_in(0.0, 1e6, low_open=True)))
