"""ONNX: converted from the SavedModel by tf2onnx, run by ONNX Runtime; INT8 by ONNX Runtime's
own static post-training quantization (QDQ, per-channel weights)."""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from adapters.runtimes.extras import require
from domain.errors import DataError, UnetError

OPSET = 17


def convert(core: Path, target: Path, calibration: np.ndarray | None) -> None:
    require("tf2onnx", "--format onnx")
    # tf2onnx's SavedModel path (its Keras path does not support Keras 3), in its own process
    # as its documentation runs it.
    float_model = target if calibration is None else target.with_name("model-float32.onnx")
    done = subprocess.run([sys.executable, "-m", "tf2onnx.convert", "--saved-model", str(core), "--signature_def",
                           "serve", "--opset", str(OPSET), "--output", str(float_model)],
                          capture_output=True, text=True)
    if done.returncode:
        lines = [line for line in done.stderr.splitlines() if "Error" in line] or done.stderr.splitlines()[-1:]
        raise UnetError(f"{target}: tf2onnx failed ({(lines[-1] if lines else 'no message')[:200]})")
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

    def probabilities(self, batch: np.ndarray) -> np.ndarray:
        return self._session.run(None, {self._input: np.ascontiguousarray(batch, np.float32)})[0][..., 0]
