"""attrs validators that raise ConfigError naming the config key (`section.field`)."""

from __future__ import annotations

import math
import re
from collections.abc import Collection, Sequence
from typing import Any

from unet_defects.domain.errors import ConfigError


def key_path(instance: Any, attribute: Any) -> str:
    section = getattr(type(instance), "SECTION", "")
    return f"{section}.{attribute.name}" if section else attribute.name


def fail(instance: Any, attribute: Any, message: str) -> None:
    raise ConfigError(f"{key_path(instance, attribute)}: {message}")


def _type_name(value: Any) -> str:
    return type(value).__name__


def is_bool(instance: Any, attribute: Any, value: Any) -> None:
    if not isinstance(value, bool):
        fail(instance, attribute, f"expected true or false, got {value!r}")


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def int_at_least(minimum: int):
    def check(instance: Any, attribute: Any, value: Any) -> None:
        if not _is_int(value):
            fail(instance, attribute, f"expected an integer, got {_type_name(value)} {value!r}")
        if value < minimum:
            fail(instance, attribute, f"must be >= {minimum}, got {value}")

    return check


def optional(check):
    def run(instance: Any, attribute: Any, value: Any) -> None:
        if value is not None:
            check(instance, attribute, value)

    return run


def number_in(low: float, high: float, *, low_open: bool = False, high_open: bool = False):
    def check(instance: Any, attribute: Any, value: Any) -> None:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value):
            fail(instance, attribute, f"expected a number, got {_type_name(value)} {value!r}")
        too_low = value <= low if low_open else value < low
        too_high = value >= high if high_open else value > high
        if too_low or too_high:
            left = "(" if low_open else "["
            right = ")" if high_open else "]"
            fail(instance, attribute, f"must be in {left}{low}, {high}{right}, got {value}")

    return check


def one_of(choices: Collection[object]):
    def check(instance: Any, attribute: Any, value: Any) -> None:
        if value not in choices:
            known = ", ".join(sorted(map(str, choices)))
            fail(instance, attribute, f"unknown value {value!r}; expected one of: {known}")

    return check


def pick(records: Sequence[Any], field: str, value: Any, unknown: str, *, sort: bool = False) -> Any:
    """The record whose `field` is `value`; else one ConfigError line, `unknown` followed by the
    values there are (in the records' order, or sorted as one_of lists them)."""
    for record in records:
        if getattr(record, field) == value:
            return record
    names = [getattr(record, field) for record in records]
    raise ConfigError(f"{unknown}; expected one of: {', '.join(sorted(names) if sort else names)}")


def is_str(instance: Any, attribute: Any, value: Any) -> None:
    if not isinstance(value, str):
        fail(instance, attribute, f"expected a string, got {_type_name(value)} {value!r}")


def is_mapping(instance: Any, attribute: Any, value: Any) -> None:
    if not isinstance(value, dict):
        fail(instance, attribute, f"expected a mapping, got {_type_name(value)} {value!r}")


def int_tuple(minimum: int, *, min_length: int = 1):
    def check(instance: Any, attribute: Any, value: Any) -> None:
        if not isinstance(value, tuple) or len(value) < min_length:
            fail(instance, attribute, f"expected a list of at least {min_length} integers, got {value!r}")
        for item in value:
            if not _is_int(item) or item < minimum:
                fail(instance, attribute, f"every entry must be an integer >= {minimum}, got {item!r}")

    return check


def image_shape(instance: Any, attribute: Any, value: Any) -> None:
    """[height, width, channels] of positive integers; named as the train_input key wherever it is checked."""
    if not isinstance(value, tuple) or len(value) != 3 or any(not _is_int(v) or v < 1 for v in value):
        shown = list(value) if isinstance(value, tuple) else repr(value)
        raise ConfigError(f"train_input.image_shape: expected [height, width, channels] of positive integers, got {shown}")


def class_count(instance: Any, attribute: Any, value: Any) -> None:
    """num_classes counts the background too: 2 for one defect class, K + 1 for K."""
    if not _is_int(value) or value < 2:
        raise ConfigError(f"train_input.num_classes: the defect classes + 1 for the background (2 for one "
                          f"defect class), got {value!r}")


def to_tuple(value: Any) -> Any:
    """Lists from YAML become tuples so specs stay immutable; other values pass to the validator."""
    return tuple(value) if isinstance(value, list) else value


def to_float(value: Any) -> Any:
    """PyYAML reads `1e-4` (no dot) as a string; accept numeric strings for float keys."""
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return value
    if _is_int(value):
        return float(value)
    return value


MODEL_NAME = re.compile(r"[A-Za-z0-9._-]{1,64}")


def check_model_name(name: str, flag: str = "--name") -> None:
    """A served model's name: safe in a URL path, as a folder name and in Triton's config."""
    if not isinstance(name, str) or not MODEL_NAME.fullmatch(name) or name in (".", ".."):
        raise ConfigError(f"{flag} {name!r}: use 1 to 64 letters, digits, '.', '_' and '-'")
