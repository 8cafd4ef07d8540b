"""TensorFlow Lite (LiteRT): converted from a fixed-size SavedModel by TensorFlow's converter
(flexible height and width would need Flex ops), run by the LiteRT interpreter with XNNPACK;
INT8 by the converter's post-training quantization (float input and output)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from unet_defects.adapters.runtimes.catalog import output_order
from unet_defects.adapters.runtimes.extras import require
from unet_defects.domain.errors import DataError

if TYPE_CHECKING:
    from unet_defects.application.values import ExportManifest


def convert(core: Path, target: Path, calibration: np.ndarray | None) -> None:
    import tensorflow as tf

    converter = tf.lite.TFLiteConverter.from_saved_model(str(core))
    if calibration is not None:
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.representative_dataset = lambda: ([image[None]] for image in calibration)
    target.write_bytes(converter.convert())


def _usable_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def open_engine(path: Path, manifest: ExportManifest, device: str | None, hint: str | None) -> TFLiteEngine:
    """The network takes only the manifest's input size."""
    return TFLiteEngine(path, manifest.input_size)


class TFLiteEngine:
    """Batches of any size; inputs smaller than the fixed size are mirror-padded (bottom and
    right) and their probabilities cut back."""

    name = "tflite"

    def __init__(self, path: Path, size: tuple[int, int], threads: int | None = None) -> None:
        litert = require("ai_edge_litert.interpreter", "--engine tflite")
        # LiteRT's default thread count left one of two cores idle here (3.7 against 6.4 images/s).
        threads = threads or _usable_cores()
        try:
            self._interpreter = litert.Interpreter(model_path=str(path), num_threads=threads)
        except (ValueError, RuntimeError) as error:
            raise DataError(f"{path}: not a TFLite model ({str(error).splitlines()[0][:160]})") from None
        self._input = self._interpreter.get_input_details()[0]["index"]
        self._outputs = _output_indices(self._interpreter)
        self.has_classifier = len(self._outputs) > 1
        self._size = size
        self._batch: int | None = None


    def outputs(self, batch: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        batch = np.asarray(batch, np.float32)
        height, width = batch.shape[1:3]
        if height > self._size[0] or width > self._size[1]:
            raise DataError(f"TFLite export: inputs of {height}x{width} exceed its fixed size "
                            f"{self._size[0]}x{self._size[1]}; predict with tiles of at most that size")
        padded = np.pad(batch, ((0, 0), (0, self._size[0] - height), (0, self._size[1] - width), (0, 0)),
                        mode="symmetric")
        if self._batch != len(padded):
            self._interpreter.resize_tensor_input(self._input, list(padded.shape))
            self._interpreter.allocate_tensors()
            self._batch = len(padded)
        self._interpreter.set_tensor(self._input, np.ascontiguousarray(padded))
        self._interpreter.invoke()
        maps = self._interpreter.get_tensor(self._outputs[0])[:, :height, :width].copy()
        return maps, self._interpreter.get_tensor(self._outputs[1]).copy() if self.has_classifier else None


def _output_indices(interpreter) -> list[int]:
    """The pixel output's tensor index, then the classifier head's: by the signature's output
    names (the tensors' own names do not say which is which)."""
    details = interpreter.get_output_details()
    if len(details) == 1:
        return [details[0]["index"]]
    signatures = interpreter._get_full_signature_list()  # name -> {"inputs": {...}, "outputs": {name: index}}
    # The converter names the exported endpoint's signature serving_default (or keeps "serve").
    key = next((k for k in ("serving_default", "serve") if k in signatures), None)
    if key is None and len(signatures) == 1:
        key = next(iter(signatures))
    if key is None:
        raise DataError(f"TFLite export: {len(details)} outputs and no serving signature to tell them apart "
                        f"(signatures: {sorted(signatures)}); export the model again")
    outputs = signatures[key]["outputs"]
    names = list(outputs)
    return [outputs[names[i]] for i in output_order([{n} for n in names])]
