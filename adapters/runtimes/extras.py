"""Optional runtimes: a missing one is one line naming the install command."""

from __future__ import annotations

import importlib
from typing import Any

from domain.errors import ConfigError

INSTALL = 'pip install -e ".[deploy]"'


def require(module: str, what: str) -> Any:
    try:
        return importlib.import_module(module)
    except ImportError:
        raise ConfigError(f"{what} needs the {module.split('.')[0]} package, not installed here: {INSTALL}") from None
