"""One planned setting: a config key, its value, and the reason written beside it."""

from __future__ import annotations

from typing import Any

import attrs


@attrs.frozen
class Choice:
    section: str
    key: str
    value: Any
    reason: str
