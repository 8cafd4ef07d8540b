"""unet_defects: UNet defect segmentation on TensorFlow.

The installed package's root is the repository's entrypoints/ folder (the doors: `unet`'s CLI,
`python -m unet_defects.run`, the Inspector, the server); the inner layers hang under it as
`unet_defects.domain`, `unet_defects.application`, `unet_defects.adapters` and
`unet_defects.configs`.

    from unet_defects import Inspector

The public names load on first use, so importing a domain module does not start TensorFlow.
"""

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # what a type checker reads; at run time __getattr__ below imports on first use
    from unet_defects.api import Inspector
    from unet_defects.application.inspection import Inspection
    from unet_defects.container import build_container
    from unet_defects.domain.errors import ConfigError, UnetError

# Public name -> the module that defines it.
_PUBLIC = {
    "Inspector": "unet_defects.api",
    "Inspection": "unet_defects.application.inspection",
    "build_container": "unet_defects.container",
    "UnetError": "unet_defects.domain.errors",
    "ConfigError": "unet_defects.domain.errors",
}

__all__ = ["ConfigError", "Inspection", "Inspector", "UnetError", "build_container"]  # _PUBLIC's names


def __getattr__(name: str) -> Any:
    if name not in _PUBLIC:
        raise AttributeError(f"module 'unet_defects' has no attribute {name!r}")
    return getattr(import_module(_PUBLIC[name]), name)
