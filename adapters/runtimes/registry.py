"""EngineRegistry: the inference engine for a built model or for an export folder."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from unet_defects.adapters.runtimes import catalog
from unet_defects.adapters.runtimes.manifest import read_manifest
from unet_defects.application.values import ExportManifest
from unet_defects.domain.errors import ConfigError, DataError


def _check_file(path: Path, fmt: str) -> None:
    """The model file is there and starts as its format's files do (the writer's signature)."""
    if not path.is_file():
        raise DataError(f"{path}: missing (the manifest names it as the {fmt} model)")
    signature = catalog.writer_of(fmt).signature
    if signature is not None:
        offset, magic = signature
        with path.open("rb") as handle:
            head = handle.read(offset + len(magic))
        if head[offset:] != magic:
            raise DataError(f"{path}: not a {fmt} model file, though the manifest says {fmt}")


class EngineRegistry:
    def __init__(self, device: str | None = None, openvino_hint: str | None = None) -> None:
        self._device = device
        self._hint = openvino_hint  # handed to every runtime's open_engine; OpenVINO's PERFORMANCE_HINT

    def from_model(self, model: Any) -> Any:
        from unet_defects.adapters.tensorflow.engine import KerasEngine

        return KerasEngine(model, self._device)

    def from_export(self, engine: str, directory: str) -> tuple[Any, ExportManifest]:
        runtime = catalog.runtime(engine)
        manifest = read_manifest(directory)
        if manifest.format not in runtime.runs:
            runs = catalog.runners_of(manifest.format)
            raise ConfigError(f"--engine {engine}: {directory} holds a {manifest.format} export; "
                              f"run it with --engine {' or '.join(runs)}")
        path = Path(directory) / manifest.model_file
        _check_file(path, manifest.format)
        return runtime.load().open_engine(path, manifest, self._device, self._hint), manifest
