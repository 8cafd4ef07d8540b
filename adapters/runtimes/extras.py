"""Optional runtimes: a missing one is one line naming the install command."""

from __future__ import annotations

import importlib
from typing import Any

from unet_defects.domain.errors import ConfigError


def install_command(extra: str) -> str:
    return f'pip install -e ".[{extra}]"'


def require(module: str, what: str, extra: str = "deploy") -> Any:
    try:
        return importlib.import_module(module)
    except ImportError:
        raise ConfigError(f"{what} needs the {module.split('.')[0]} package, not installed here: "
                          f"{install_command(extra)}") from None
