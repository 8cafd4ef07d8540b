"""unet_defects: UNet defect segmentation on TensorFlow.

The installed package's root is the repository's entrypoints/ folder (the doors: `unet`'s CLI,
`python -m unet_defects.run`, the Inspector, the server); the inner layers hang under it as
`unet_defects.domain`, `unet_defects.application`, `unet_defects.adapters` and
`unet_defects.configs`.

    from unet_defects import Inspector

The public names load on first use, so importing a domain module does not start TensorFlow.
"""

from importlib import import_module
from typing import Any

# Public name -> the module that defines it.
_PUBLIC = {
    "Inspector": "unet_defects.api",
    "Inspection": "unet_defects.application.inspection",
    "build_container": "unet_defects.container",
    "UnetError": "unet_defects.domain.errors",
    "ConfigError": "unet_defects.domain.errors",
}

__all__ = sorted(_PUBLIC)


def __getattr__(name: str) -> Any:
    if name not in _PUBLIC:
        raise AttributeError(f"module 'unet_defects' has no attribute {name!r}")
    return getattr(import_module(_PUBLIC[name]), name)
