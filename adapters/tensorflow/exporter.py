"""TensorFlowExporter: a SavedModel that takes uint8 images of any size, with a manifest."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from application.values import ExportRequest
from domain.errors import UnetError

MANIFEST = "unet_export.json"


class TensorFlowExporter:
    def __init__(self, policy: str) -> None:
        self._policy = policy

    def export(self, model: Any, request: ExportRequest) -> str:
        """`serving_default` takes uint8 images (N, H, W, 1) of any size and returns
        `probabilities` (float32) and `mask` (uint8 0/255) at that size, with the same
        preprocessing as `unet predict`: normalize, resize to the input size, predict, resize
        back; or, native, mirror-pad to a multiple of the stride, predict, crop."""
        import tensorflow as tf

        from adapters.tensorflow.padding import mirror_pad_to_stride

        channels = int(model.input_shape[-1])
        scale, offset = request.normalization
        stride, size, threshold = request.native_stride, request.input_size, request.threshold

        class Serving(tf.Module):
            def __init__(self, network):
                super().__init__()
                self.network = network

            @tf.function(input_signature=[tf.TensorSpec([None, None, None, 1], tf.uint8, name="images")])
            def serve(self, images):
                original = tf.shape(images)[1:3]
                inputs = tf.tile(tf.cast(images, tf.float32) * scale + offset, [1, 1, 1, channels])
                if stride:
                    inputs = mirror_pad_to_stride(inputs, stride)
                else:
                    inputs = tf.image.resize(inputs, size)
                probabilities = tf.sigmoid(tf.cast(self.network(inputs, training=False), tf.float32))
                if stride:
                    probabilities = probabilities[:, : original[0], : original[1]]
                else:
                    probabilities = tf.image.resize(probabilities, original)
                mask = tf.cast(probabilities > threshold, tf.uint8) * 255
                return {"probabilities": probabilities, "mask": mask}

        module = Serving(model)
        target = Path(request.output)
        try:
            tf.saved_model.save(module, str(target), signatures={"serving_default": module.serve})
            (target / MANIFEST).write_text(json.dumps({
                "step": request.step, "threshold": threshold, "input_size": list(size),
                "normalization": {"scale": scale, "offset": offset}, "precision": self._policy,
                "geometry": request.geometry, "stride": stride,
            }, indent=2) + "\n")
        except (OSError, tf.errors.OpError) as error:
            raise UnetError(f"{target}: cannot write the export ({str(error).splitlines()[0][:160]})") from None
        return str(target)
