"""Every runtime as one record: adding a runtime is its module and one line here.

A record names the runtime (`--engine`), the export format it writes (`--format`, with its
model file, the first bytes that file starts with, whether it quantizes to INT8, whether its
network takes only the training size and whether it is converted from the bare network), the
formats it runs, the extra that installs it, and its module. The module holds
`convert(core, target, calibration)` (from the bare network's SavedModel; the one format with
`converts=False`, the SavedModel, is written by the exporter itself) and
`open_engine(path, manifest, device, hint)`. The CLI's choices, the manifest check, the
exporter, the export use case's checks and the engine registry all read these records.
Nothing heavy is imported here.
"""

from __future__ import annotations

import importlib
from typing import Any

import attrs

from unet_defects.domain.validation import pick

# The exported network's outputs by name (converters may order them otherwise): the defect
# probabilities, and with a classifier head its (N, K) image probabilities.
PIXEL_OUTPUT = "probabilities"
IMAGE_OUTPUT = "image_probabilities"


def output_order(names: list[set[str]]) -> list[int]:
    """The indices of the pixel output, then of the classifier head's when there is one, from each
    output's names (`probabilities`, `probabilities:0`, ...); a model of one output is that output."""
    if len(names) == 1:
        return [0]

    def find(wanted: str) -> int | None:
        return next((i for i, held in enumerate(names) if any(n.split(":")[0] == wanted for n in held)), None)

    pixel, image = find(PIXEL_OUTPUT), find(IMAGE_OUTPUT)
    if pixel is None:
        raise ValueError(f"the model's outputs {[sorted(n) for n in names]} name no {PIXEL_OUTPUT!r}")
    return [pixel] + ([image] if image is not None else [])


@attrs.frozen
class Runtime:
    name: str  # --engine
    format: str  # the export format it writes (--format)
    model_file: str  # the format's file inside the export folder
    runs: tuple[str, ...]  # export formats it runs
    module: str  # convert() and open_engine()
    extra: str | None = "deploy"  # pip install -e ".[extra]"; None: installed with unet-defects
    int8: bool = False  # --int8 quantization after training
    fixed_size: bool = False  # the network takes only the training size
    signature: tuple[int, bytes] | None = None  # (offset, first bytes) of its model file
    converts: bool = True  # written by module.convert from the bare network; False: by the exporter

    def load(self) -> Any:
        return importlib.import_module(self.module)


RUNTIMES = (
    Runtime("tensorflow", "savedmodel", "saved_model.pb", ("savedmodel",), "unet_defects.adapters.runtimes.savedmodel",
            extra=None, converts=False),
    Runtime("onnxruntime", "onnx", "model.onnx", ("onnx",), "unet_defects.adapters.runtimes.onnx", int8=True),
    Runtime("openvino", "openvino", "model.xml", ("openvino", "onnx"), "unet_defects.adapters.runtimes.openvino", int8=True,
            signature=(0, b"<?xml")),
    Runtime("tflite", "tflite", "model.tflite", ("tflite",), "unet_defects.adapters.runtimes.tflite", int8=True,
            fixed_size=True, signature=(4, b"TFL3")),
)
ENGINE_NAMES = tuple(runtime.name for runtime in RUNTIMES)
EXPORT_FORMATS = tuple(runtime.format for runtime in RUNTIMES)  # the formats an engine here runs
# Formats for a model server elsewhere: a Triton model repository (adapters/runtimes/triton.py).
REPOSITORY_FORMATS = ("triton",)
ALL_EXPORT_FORMATS = EXPORT_FORMATS + REPOSITORY_FORMATS
INT8_FORMATS = tuple(runtime.format for runtime in RUNTIMES if runtime.int8)


def runtime(name: str) -> Runtime:
    """The runtime called `name` (--engine)."""
    return pick(RUNTIMES, "name", name, f"--engine: unknown {name!r}")


def writer_of(fmt: str) -> Runtime:
    """The runtime whose export format is `fmt` (--format)."""
    return pick(RUNTIMES, "format", fmt, f"--format: unknown {fmt!r}")


def runners_of(fmt: str) -> tuple[str, ...]:
    """The runtimes (--engine) that run the export format `fmt`."""
    return tuple(record.name for record in RUNTIMES if fmt in record.runs)
