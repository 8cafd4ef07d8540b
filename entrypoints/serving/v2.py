"""The Open Inference Protocol v2 (KServe v2, Triton's HTTP/REST API) for this model: one input,
two outputs, JSON tensors and the binary tensor data extension.

Input `image`: UINT8 gray pixel values, shape [N, H, W, 1]. Outputs `probabilities` (FP32
[N, H, W]) and `mask` (UINT8 [N, H, W], 1 where the decision says defect after threshold and
min_area, else 0); a model of K defect classes gives [N, H, W, K] for both, channel k the k-th
class of the model's metadata (`parameters.classes`). Asked for by name, the part's outputs:
`score` (FP32 [N], the part score that ranks parts: domain.part_score) and `defective` (BOOL
[N], the part's verdict). A request whose JSON header is followed by binary tensors says so with the
`Inference-Header-Content-Length` header; an input's `parameters.binary_data_size` gives its
bytes there; an output is sent in binary when its `parameters.binary_data` or the request's
`parameters.binary_data_output` says so. Every check on a declared shape runs before anything
is allocated for it.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence

import attrs
import numpy as np

from unet_defects.serving.errors import BadRequest, TooLarge

INPUT = "image"
OUTPUTS = {"probabilities": ("FP32", np.float32), "mask": ("UINT8", np.uint8)}  # given when none are asked
PART_OUTPUTS = {"score": ("FP32", np.float32), "defective": ("BOOL", np.bool_)}  # one value per image, by name
BINARY_EXTENSION = "binary_tensor_data"
HEADER_LENGTH = "inference-header-content-length"
JSON_OUTPUT_VALUES = 4_000_000  # outputs larger than this go in binary only (a JSON float costs ~20 bytes)


def model_metadata(name: str, platform: str, classes: Sequence[tuple[int, str]] = ()) -> dict:
    """`classes`: (class id, name) per output channel of a model of several defect classes."""
    variable = -1
    shape = [variable, variable, variable] + ([len(classes)] if classes else [])
    found = {
        "name": name, "versions": ["1"], "platform": platform,
        "inputs": [{"name": INPUT, "datatype": "UINT8", "shape": [variable, variable, variable, 1]}],
        "outputs": [{"name": output, "datatype": datatype, "shape": shape}
                    for output, (datatype, _) in OUTPUTS.items()]
        + [{"name": output, "datatype": datatype, "shape": [variable]} for output, (datatype, _) in PART_OUTPUTS.items()],
    }
    if classes:
        found["parameters"] = {"classes": [{"class_id": class_id, "name": label} for class_id, label in classes]}
    return found


@attrs.frozen(eq=False)
class InferRequest:
    images: np.ndarray  # (N, H, W) uint8
    outputs: tuple[tuple[str, bool], ...]  # (name, in binary), in the order asked
    request_id: str | None = None


def parse_request(body: bytes, header_length: str | None, max_pixels: int, max_batch: int | None = None,
                  channels: int = 1) -> InferRequest:
    """The request's image batch and wanted outputs, or BadRequest / TooLarge naming the fault.
    A batch larger than `max_batch` is refused, as Triton refuses one past max_batch_size;
    `channels`: the outputs' values per pixel (the model's defect classes)."""
    header, binary = _split(body, header_length)
    if not isinstance(header, dict):
        raise BadRequest("the request is not a JSON object")
    inputs = header.get("inputs")
    if not isinstance(inputs, list) or len(inputs) != 1 or not isinstance(inputs[0], dict):
        count = len(inputs) if isinstance(inputs, list) else "no"
        raise BadRequest(f"the request has {count} inputs; the model takes one, '{INPUT}'")
    tensor = inputs[0]
    if tensor.get("name") != INPUT:
        raise BadRequest(f"input {tensor.get('name')!r}: unknown; the model takes one input, '{INPUT}'")
    if tensor.get("datatype") != "UINT8":
        raise BadRequest(f"input '{INPUT}': datatype {tensor.get('datatype')!r}; expected UINT8 (gray pixels 0-255)")
    shape = _shape(tensor.get("shape"), max_pixels)
    if max_batch is not None and shape[0] > max_batch:
        raise BadRequest(f"input '{INPUT}': a batch of {shape[0]} images, more than the server's --max_batch "
                         f"{max_batch}; send at most {max_batch} a request")
    parameters = header.get("parameters") or {}
    outputs = _outputs(header.get("outputs"), bool(isinstance(parameters, dict) and parameters.get("binary_data_output")))
    values = math.prod(shape) * channels
    if values > JSON_OUTPUT_VALUES and not all(binary for _, binary in outputs):
        raise BadRequest(f"outputs of {values:,} values each are sent in binary only (above {JSON_OUTPUT_VALUES:,}); "
                         "ask for binary_data")
    images = _tensor_data(tensor, shape, binary).reshape(shape[:3])
    request_id = header.get("id")
    return InferRequest(images=images, outputs=outputs, request_id=str(request_id) if request_id is not None else None)


def _split(body: bytes, header_length: str | None) -> tuple[object, memoryview]:
    if header_length is None:
        length = len(body)
    else:
        try:
            length = int(header_length)
        except ValueError:
            raise BadRequest(f"Inference-Header-Content-Length {header_length!r} is not a number") from None
        if not 0 < length <= len(body):
            raise BadRequest(f"Inference-Header-Content-Length {length} is outside the {len(body)}-byte body")
    try:
        header = json.loads(bytes(body[:length]))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise BadRequest(f"the request header is not JSON ({error})") from None
    return header, memoryview(body)[length:]


def _shape(shape: object, max_pixels: int) -> tuple[int, int, int, int]:
    if not isinstance(shape, list) or not all(isinstance(v, int) and not isinstance(v, bool) for v in shape):
        raise BadRequest(f"input '{INPUT}': shape {shape!r} is not a list of integers")
    if len(shape) != 4 or shape[3] != 1:
        raise BadRequest(f"input '{INPUT}': shape {shape} has rank {len(shape)}; expected [N, H, W, 1]")
    if min(shape) < 1:
        raise BadRequest(f"input '{INPUT}': shape {shape} holds no pixels")
    pixels = math.prod(shape)
    if pixels > max_pixels:
        raise TooLarge(f"input '{INPUT}': shape {shape} is {pixels:,} pixels, more than the server's "
                       f"--max_pixels {max_pixels:,}")
    return tuple(shape)  # type: ignore[return-value]


def _tensor_data(tensor: Mapping, shape: Sequence[int], binary: memoryview) -> np.ndarray:
    count = math.prod(shape)
    parameters = tensor.get("parameters") or {}
    size = parameters.get("binary_data_size") if isinstance(parameters, dict) else None
    if size is not None:
        if size != count:
            raise BadRequest(f"input '{INPUT}': binary_data_size {size} disagrees with shape {list(shape)} "
                             f"({count} UINT8 values)")
        if len(binary) != size:
            raise BadRequest(f"input '{INPUT}': {len(binary)} bytes of binary data follow the header; "
                             f"binary_data_size declares {size}")
        return np.frombuffer(binary, np.uint8).copy()
    if len(binary):
        raise BadRequest(f"{len(binary)} bytes of binary data follow the header, but no input declares "
                         "binary_data_size")
    data = tensor.get("data")
    if data is None:
        raise BadRequest(f"input '{INPUT}': neither data nor parameters.binary_data_size")
    try:
        values = np.asarray(data).ravel()
    except (TypeError, ValueError, OverflowError):
        raise BadRequest(f"input '{INPUT}': data is not a list of integers") from None
    if values.size and values.dtype.kind not in "iu":  # no floats, strings or booleans read as pixels
        raise BadRequest(f"input '{INPUT}': data is not a list of integers (got {values.dtype.kind!r} values)")
    if values.size != count:
        raise BadRequest(f"input '{INPUT}': {values.size} data values disagree with shape {list(shape)} ({count})")
    if values.size and (values.min() < 0 or values.max() > 255):
        raise BadRequest(f"input '{INPUT}': data values {values.min()}..{values.max()} are outside UINT8 0..255")
    return values.astype(np.uint8)


def _outputs(asked: object, binary_default: bool) -> tuple[tuple[str, bool], ...]:
    if asked is None:
        return tuple((name, binary_default) for name in OUTPUTS)
    if not isinstance(asked, list) or not all(isinstance(item, dict) for item in asked):
        raise BadRequest("outputs: expected a list of objects with a name")
    wanted = []
    for item in asked:
        name = item.get("name")
        if name not in OUTPUTS and name not in PART_OUTPUTS:
            raise BadRequest(f"output {name!r}: unknown; the model gives {', '.join([*OUTPUTS, *PART_OUTPUTS])}")
        parameters = item.get("parameters") or {}
        binary = parameters.get("binary_data", binary_default) if isinstance(parameters, dict) else binary_default
        wanted.append((name, bool(binary)))
    return tuple(wanted)


def encode_response(model: str, request: InferRequest, probabilities: np.ndarray, mask: np.ndarray,
                    scores: Sequence[float] = (), defective: Sequence[bool] = ()) -> tuple[bytes, dict[str, str]]:
    """The response body and its extra headers: JSON, or JSON then binary tensors."""
    arrays = {"probabilities": probabilities.astype(np.float32, copy=False), "mask": mask.astype(np.uint8),
              "score": np.asarray(scores, np.float32), "defective": np.asarray(defective, np.bool_)}
    outputs, blobs = [], []
    for name, binary in request.outputs:
        array = np.ascontiguousarray(arrays[name])
        entry: dict = {"name": name, "datatype": {**OUTPUTS, **PART_OUTPUTS}[name][0], "shape": list(array.shape)}
        if binary:
            blob = array.tobytes()
            entry["parameters"] = {"binary_data_size": len(blob)}
            blobs.append(blob)
        else:
            entry["data"] = array.ravel().tolist()
        outputs.append(entry)
    header = {"model_name": model, "model_version": "1", "outputs": outputs}
    if request.request_id is not None:
        header["id"] = request.request_id
    text = json.dumps(header, separators=(",", ":")).encode()
    if not blobs:
        return text, {"content-type": "application/json"}
    return b"".join([text, *blobs]), {"content-type": "application/octet-stream",
                                      "inference-header-content-length": str(len(text))}
