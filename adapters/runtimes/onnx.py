"""ONNX: converted from the SavedModel by tf2onnx, run by ONNX Runtime; INT8 by ONNX Runtime's
own static post-training quantization (QDQ, per-channel weights)."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from unet_defects.adapters.runtimes.catalog import output_order
from unet_defects.adapters.runtimes.extras import require
from unet_defects.domain.errors import DataError, UnetError

if TYPE_CHECKING:
    from unet_defects.application.values import ExportManifest

OPSET = 17


def convert(core: Path, target: Path, calibration: np.ndarray | None) -> None:
    require("tf2onnx", "--format onnx")
    from tf2onnx import convert as tf2onnx_convert
    from tf2onnx import tf_loader

    # tf2onnx's SavedModel path, as its command line takes it (its Keras path does not
    # support Keras 3): the signature's graph, then the ONNX graph with the signature's names.
    float_model = target if calibration is None else target.with_name("model-float32.onnx")
    try:
        graph_def, inputs, outputs, renamed = tf_loader.from_saved_model(
            str(core), None, None, signatures=["serve"], return_tensors_to_rename=True)
        tf2onnx_convert.from_graph_def(graph_def, input_names=inputs, output_names=outputs, opset=OPSET,
                                       tensors_to_rename=renamed, output_path=str(float_model))
    except Exception as error:  # tf2onnx raises whatever its handlers raise
        raise UnetError(f"{target}: tf2onnx failed ({type(error).__name__}: {str(error).splitlines()[0][:160]})") \
            from None
    if calibration is not None:
        _quantize(float_model, target, calibration)
        float_model.unlink()


def _quantize(source: Path, target: Path, calibration: np.ndarray) -> None:
    quantization = require("onnxruntime.quantization", "--format onnx --int8")

    class Images(quantization.CalibrationDataReader):
        def __init__(self) -> None:
            self._items = iter([{"inputs": image[None]} for image in calibration])

        def get_next(self):
            return next(self._items, None)

    with tempfile.TemporaryDirectory(prefix="unet-onnx-") as scratch:
        prepared = Path(scratch) / "prepared.onnx"
        quantization.shape_inference.quant_pre_process(str(source), str(prepared), skip_symbolic_shape=True)
        quantization.quantize_static(str(prepared), str(target), Images(), quant_format=quantization.QuantFormat.QDQ,
                                     per_channel=True, activation_type=quantization.QuantType.QUInt8,
                                     weight_type=quantization.QuantType.QInt8)


def open_engine(path: Path, manifest: ExportManifest, device: str | None, hint: str | None) -> OnnxRuntimeEngine:
    return OnnxRuntimeEngine(path)


class OnnxRuntimeEngine:
    name = "onnxruntime"

    def __init__(self, path: Path, threads: int = 0) -> None:
        ort = require("onnxruntime", "--engine onnxruntime")
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        try:
            self._session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        except Exception as error:  # ONNX Runtime raises its own untyped errors for bad files
            raise DataError(f"{path}: not an ONNX model ONNX Runtime can load ({str(error).splitlines()[0][:160]})") \
                from None
        self._input = self._session.get_inputs()[0].name
        names = [o.name for o in self._session.get_outputs()]
        try:
            self._outputs = [names[i] for i in output_order([{n} for n in names])]
        except ValueError as error:
            raise DataError(f"{path}: {error}") from None
        self.has_classifier = len(self._outputs) > 1

    def outputs(self, batch: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        found = self._session.run(self._outputs, {self._input: np.ascontiguousarray(batch, np.float32)})
        return np.asarray(found[0]), found[1] if self.has_classifier else None


