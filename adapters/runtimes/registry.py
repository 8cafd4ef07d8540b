"""EngineRegistry: the inference engine for a built model or for an export folder."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from adapters.runtimes.manifest import read_manifest
from application.values import ENGINE_FORMATS, ExportManifest
from domain.errors import ConfigError, DataError

# The first bytes each format's model file starts with (the XML of OpenVINO IR, TFLite's
# FlatBuffer identifier at offset 4); ONNX is a protobuf without a signature.
_SIGNATURES = {"openvino": (0, b"<?xml"), "tflite": (4, b"TFL3")}


def _check_file(path: Path, fmt: str) -> None:
    if not path.is_file():
        raise DataError(f"{path}: missing (the manifest names it as the {fmt} model)")
    if fmt in _SIGNATURES:
        offset, magic = _SIGNATURES[fmt]
        with path.open("rb") as handle:
            head = handle.read(offset + len(magic))
        if head[offset:] != magic:
            raise DataError(f"{path}: not a {fmt} model file, though the manifest says {fmt}")


class EngineRegistry:
    def __init__(self, device: str | None = None, openvino_hint: str | None = None) -> None:
        self._device = device
        self._openvino_hint = openvino_hint

    def from_model(self, model: Any) -> Any:
        from adapters.tensorflow.engine import KerasEngine

        return KerasEngine(model, self._device)

    def from_export(self, engine: str, directory: str) -> tuple[Any, ExportManifest]:
        manifest = read_manifest(directory)
        if manifest.format not in ENGINE_FORMATS.get(engine, ()):
            runs = [name for name, formats in ENGINE_FORMATS.items() if manifest.format in formats]
            raise ConfigError(f"--engine {engine}: {directory} holds a {manifest.format} export; "
                              f"run it with --engine {' or '.join(runs)}")
        path = Path(directory) / manifest.model_file
        _check_file(path, manifest.format)
        return self._load(engine, path, manifest), manifest

    def _load(self, engine: str, path: Path, manifest: ExportManifest) -> Any:
        if engine == "tensorflow":
            from adapters.runtimes.savedmodel import SavedModelEngine

            return SavedModelEngine(path.parent, self._device)
        if engine == "onnxruntime":
            from adapters.runtimes.onnx import OnnxRuntimeEngine

            return OnnxRuntimeEngine(path)
        if engine == "openvino":
            from adapters.runtimes.openvino import DEFAULT_HINT, OpenVinoEngine

            return OpenVinoEngine(path, self._openvino_hint or DEFAULT_HINT)
        from adapters.runtimes.tflite import TFLiteEngine

        return TFLiteEngine(path, manifest.input_size)
