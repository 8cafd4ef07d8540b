"""TensorFlowExporter: the trained network as a SavedModel, ONNX, OpenVINO IR or TFLite file,
with a manifest (unet_export.json) saying how it takes images."""

from __future__ import annotations

import gc
import itertools
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from unet_defects.adapters.runtimes.catalog import IMAGE_OUTPUT, REPOSITORY_FORMATS, writer_of
from unet_defects.adapters.runtimes.manifest import VERSION, write_manifest
from unet_defects.adapters.tensorflow.outputs import split_outputs
from unet_defects.application.values import ExportManifest, ExportRequest
from unet_defects.domain.errors import UnetError


def _network(model: Any, tta: str) -> Any:
    """Normalized (N, H, W, C) float32 -> (defect probabilities (N, H, W, K), the classifier
    head's (N, K) image probabilities or None without one), TTA averaged."""
    import tensorflow as tf

    from unet_defects.adapters.tensorflow.tta_graph import averaged_graph_outputs

    def probabilities(x):
        pixels, image = split_outputs(model(x, training=False))
        return tf.sigmoid(tf.cast(pixels, tf.float32)), None if image is None else tf.sigmoid(tf.cast(image, tf.float32))

    return lambda x: averaged_graph_outputs(probabilities, x, tta)


def _named(probabilities: Any, image_probabilities: Any) -> dict:
    """A signature's outputs: `probabilities`, and `image_probabilities` with a classifier head."""
    found = {"probabilities": probabilities}
    if image_probabilities is not None:
        found[IMAGE_OUTPUT] = image_probabilities
    return found


def _head_classes(model: Any) -> int:
    """The classifier head's outputs (K), 0 without a head."""
    _, head = split_outputs(model.outputs if len(model.outputs) > 1 else model.outputs[0])
    return 0 if head is None else int(head.shape[-1])


def _uint8_probabilities(model: Any, request: ExportRequest) -> Any:
    """uint8 images (N, H, W, 1) of any size -> (probabilities (N, H, W, K) at that size, image
    probabilities or None), with the preprocessing of `unet predict`: normalize, feed every
    channel, then resize to the training size, or (native) mirror-pad to the stride and crop back."""
    import tensorflow as tf

    from unet_defects.adapters.tensorflow.padding import mirror_pad_to_stride

    channels = int(model.input_shape[-1])
    scale, offset = request.normalization
    stride, size = request.native_stride, request.input_size
    network = _network(model, request.tta)

    def probabilities(images):
        original = tf.shape(images)[1:3]
        inputs = tf.tile(tf.cast(images, tf.float32) * scale + offset, [1, 1, 1, channels])
        inputs = mirror_pad_to_stride(inputs, stride) if stride else tf.image.resize(inputs, size)
        outputs, image = network(inputs)
        return (outputs[:, : original[0], : original[1]] if stride else tf.image.resize(outputs, original)), image

    return probabilities


def _saved_model(model: Any, request: ExportRequest, target: Path) -> None:
    """`serving_default` takes uint8 images (N, H, W, 1) of any size and returns `probabilities`
    and `mask` (uint8 0/255, threshold only) at that size, with the preprocessing of `unet
    predict`; `network` is the bare network that `unet predict --engine tensorflow` runs."""
    import tensorflow as tf

    channels = int(model.input_shape[-1])
    threshold = tf.constant(request.thresholds, tf.float32)  # one per class, on the last axis
    network = _network(model, request.tta)
    uint8_probabilities = _uint8_probabilities(model, request)

    class Serving(tf.Module):
        def __init__(self, keras_model):
            super().__init__()
            self.keras_model = keras_model

        @tf.function(input_signature=[tf.TensorSpec([None, None, None, 1], tf.uint8, name="images")])
        def serve(self, images):
            probabilities, image = uint8_probabilities(images)
            mask = tf.cast(probabilities > threshold, tf.uint8) * 255
            return {**_named(probabilities, image), "mask": mask}

        @tf.function(input_signature=[tf.TensorSpec([None, None, None, channels], tf.float32, name="inputs")])
        def network(self, inputs):
            return _named(*network(inputs))

    module = Serving(model)
    tf.saved_model.save(module, str(target), signatures={"serving_default": module.serve, "network": module.network})


def repository_archive(model: Any, request: ExportRequest, directory: Path) -> None:
    """The network with its preprocessing and threshold, as `unet serve` speaks the Open
    Inference Protocol: `image` uint8 (N, H, W, 1) -> `probabilities` float32 (N, H, W) and
    `mask` uint8 (N, H, W), 1 where the probability passes the threshold (no min_area: the
    graph has no connected components); with K defect classes (N, H, W, K), a threshold each;
    with a classifier head, its `image_probabilities` float32 (N, K) too."""
    import keras
    import tensorflow as tf

    several = len(request.decisions) > 1
    threshold = tf.constant(request.thresholds, tf.float32) if several else request.thresholds[0]
    uint8_probabilities = _uint8_probabilities(model, request)

    def serve(image):
        probabilities, classified = uint8_probabilities(image)  # (N, H, W, K): one class drops its axis
        probabilities = probabilities if several else probabilities[..., 0]
        found = {"probabilities": probabilities, "mask": tf.cast(probabilities > threshold, tf.uint8)}
        if classified is not None:  # the head's (N, K): the client's gate reads it
            found[IMAGE_OUTPUT] = classified
        return found

    archive = keras.export.ExportArchive()
    archive.track(model)
    archive.add_endpoint("serve", serve, input_signature=[tf.TensorSpec([None, None, None, 1], tf.uint8, name="image")])
    archive.write_out(str(directory), verbose=False)


def core_archive(model: Any, tta: str, directory: Path, size: tuple[int, int] | None) -> None:
    """The bare network as a SavedModel through Keras' own export, which the converters read
    (a tf.Module wrapper leaves Keras 3 variables unfrozen for TFLite). `size` fixes H and W."""
    import keras
    import tensorflow as tf

    channels = int(model.input_shape[-1])
    height, width = size or (None, None)
    network = _network(model, tta)
    archive = keras.export.ExportArchive()
    archive.track(model)
    archive.add_endpoint("serve", lambda x: _named(*network(x)),
                         input_signature=[tf.TensorSpec([None, height, width, channels], tf.float32, name="inputs")])
    archive.write_out(str(directory), verbose=False)


def calibration_images(stream: Any, count: int) -> np.ndarray:
    """`count` normalized training images (N, H, W, C) for post-training quantization."""
    images: list[np.ndarray] = []
    batches = iter(stream)
    for batch, _ in itertools.islice(batches, count):
        images.extend(np.asarray(batch))
        if len(images) >= count:
            break
    del batches
    gc.collect()  # the endless training pipeline's threads end here, not at interpreter exit
    if not images:
        raise UnetError("--int8: the training split gave no calibration images")
    return np.stack(images[:count]).astype(np.float32)


class TensorFlowExporter:
    def __init__(self, policy: str) -> None:
        self._policy = policy

    def export(self, model: Any, request: ExportRequest) -> str:
        import tensorflow as tf

        if request.format in REPOSITORY_FORMATS:
            return self._repository(model, request)
        target = Path(request.output)
        writer = writer_of(request.format)
        fixed = writer.fixed_size
        try:
            target.mkdir(parents=True, exist_ok=True)
            if not writer.converts:
                _saved_model(model, request, target)
            else:
                samples = calibration_images(request.calibration_stream, request.calibration_images) \
                    if request.int8 else None
                with tempfile.TemporaryDirectory(prefix="unet-core-") as core:
                    core_archive(model, request.tta, Path(core), request.input_size if fixed else None)
                    writer.load().convert(Path(core), target / writer.model_file, samples)
            self._manifest(model, request, target, writer.model_file, fixed)
        except (OSError, tf.errors.OpError) as error:
            raise UnetError(f"{target}: cannot write the export ({str(error).splitlines()[0][:160]})") from None
        return str(target)

    def _repository(self, model: Any, request: ExportRequest) -> str:
        """A Triton model repository: OUTPUT/NAME/{config.pbtxt, 1/model.onnx, README.md,
        unet_export.json}."""
        import tensorflow as tf

        from unet_defects.adapters.runtimes import triton

        target = Path(request.output) / request.name
        try:
            with tempfile.TemporaryDirectory(prefix="unet-repository-") as archive:
                repository_archive(model, request, Path(archive))
                held = ExportManifest.decision_fields(request.decisions)
                triton.write_repository(Path(archive), target, request.name, request.max_batch, held["threshold"],
                                        held["min_area"], request.geometry, held["classes"], held["gate"],
                                        head_classes=_head_classes(model))
            self._manifest(model, request, target, triton.MODEL_FILE, False, input_dtype="uint8",
                           min_area_by="client")
        except (OSError, tf.errors.OpError) as error:
            raise UnetError(f"{target}: cannot write the repository ({str(error).splitlines()[0][:160]})") from None
        return str(target)

    def _manifest(self, model: Any, request: ExportRequest, target: Path, model_file: str, fixed: bool,
                  **fields: str) -> None:
        write_manifest(target, ExportManifest(
            format=request.format, model_file=model_file, step=request.step,
            input_size=request.input_size, channels=int(model.input_shape[-1]),
            normalization=request.normalization, **ExportManifest.decision_fields(request.decisions),
            tta=request.tta, geometry=request.geometry,
            stride=request.stride, precision="int8" if request.int8 else self._policy,
            fixed_size=fixed, manifest_version=VERSION, producer=_producer(),
            class_id=request.class_id, **fields,
        ))


def _producer() -> str:
    from unet_defects.adapters.hardware import PROJECT, project_version

    version = project_version()
    return f"{PROJECT} {version}" if version else PROJECT
