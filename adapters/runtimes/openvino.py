"""OpenVINO IR: converted from the SavedModel by OpenVINO's model converter, run by its CPU
plugin; INT8 by NNCF, OpenVINO's post-training quantization."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from unet_defects.adapters.runtimes.catalog import output_order
from unet_defects.adapters.runtimes.extras import require
from unet_defects.domain.errors import DataError

if TYPE_CHECKING:
    from unet_defects.application.values import ExportManifest

# On two cores the LATENCY hint beat THROUGHPUT at batch 8 too (tests/benchmarks/bench_engines.py).
DEFAULT_HINT = "LATENCY"
# The CPU plugin computes in bfloat16 by itself where the CPU has it (AVX512_BF16, AMX), which
# moves probabilities by about 1e-3: an export computes what its manifest says, float32 (INT8
# exports: their unquantized parts).
PRECISION = {"INFERENCE_PRECISION_HINT": "f32"}


def convert(core: Path, target: Path, calibration: np.ndarray | None) -> None:
    ov = require("openvino", "--format openvino")
    model = ov.convert_model(str(core))
    if calibration is not None:
        nncf = require("nncf", "--format openvino --int8")
        model = nncf.quantize(model, nncf.Dataset([image[None] for image in calibration]),
                              subset_size=len(calibration))
    ov.save_model(model, str(target))


def open_engine(path: Path, manifest: ExportManifest, device: str | None, hint: str | None) -> OpenVinoEngine:
    """Runs the OpenVINO IR or an ONNX file, on the CPU plugin with `hint` (PERFORMANCE_HINT)."""
    return OpenVinoEngine(path, hint or DEFAULT_HINT)


class OpenVinoEngine:
    name = "openvino"

    def __init__(self, path: Path, hint: str = DEFAULT_HINT) -> None:
        ov = require("openvino", "--engine openvino")
        try:
            self._compiled = ov.Core().compile_model(str(path), "CPU", {"PERFORMANCE_HINT": hint, **PRECISION})
        except Exception as error:  # OpenVINO raises RuntimeError subclasses of its own for bad files
            raise DataError(f"{path}: not a model OpenVINO can load ({str(error).splitlines()[0][:160]})") from None
        try:
            self._order = output_order([set(port.get_names()) for port in self._compiled.outputs])
        except ValueError as error:
            raise DataError(f"{path}: {error}") from None
        self.has_classifier = len(self._order) > 1

    def outputs(self, batch: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        found = self._compiled(np.ascontiguousarray(batch, np.float32))
        image = np.asarray(found[self._order[1]]) if self.has_classifier else None
        return np.asarray(found[self._order[0]]), image

