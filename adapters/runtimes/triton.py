"""A Triton model repository: `<out>/<name>/config.pbtxt` and `<out>/<name>/1/model.onnx`.

The ONNX model takes what `unet serve` takes and gives what it gives (Open Inference Protocol:
`image` UINT8 [N, H, W, 1] -> `probabilities` FP32 [N, H, W] and `mask` UINT8 [N, H, W]), with
the normalization and the threshold inside the graph, so a client's infer call is the same
against either server. A model of K defect classes gives [N, H, W, K] outputs, a threshold per
class in the graph. With a classifier head it also gives `image_probabilities` FP32 [N, K].
min_area and the classifier gate are not in the graph (they need connected components); the
repository's README.md and unet_export.json say how to apply them on the client.

config.pbtxt is Triton's ModelConfig in protobuf text format (the tests parse it with
tritonclient's own model_config_pb2): the ONNX Runtime backend, dynamic batching and a CPU
instance group. Not run on a Triton server here.
"""

from __future__ import annotations

from pathlib import Path

from unet_defects.adapters.runtimes import onnx
from unet_defects.adapters.runtimes.catalog import IMAGE_OUTPUT

MODEL_FILE = "1/model.onnx"
QUEUE_DELAY_US = 5000  # as unet serve's --max_delay_ms 5


def config_text(name: str, max_batch: int, instances: int = 1, classes: int = 0, head_classes: int = 0) -> str:
    """Triton's ModelConfig for the repository's model: the batch axis is implied by
    max_batch_size, so dims are H, W (and 1 channel for the input, K for the outputs of K
    `classes`), -1 for any size; with a classifier head of `head_classes` outputs, its
    `image_probabilities` [K]."""
    dims = "-1, -1" + (f", {classes}" if classes else "")
    head = (f''',
  {{
    name: "{IMAGE_OUTPUT}"
    data_type: TYPE_FP32
    dims: [ {head_classes} ]
  }}''' if head_classes else "")
    return f'''name: "{name}"
backend: "onnxruntime"
max_batch_size: {max_batch}
input [
  {{
    name: "image"
    data_type: TYPE_UINT8
    dims: [ -1, -1, 1 ]
  }}
]
output [
  {{
    name: "probabilities"
    data_type: TYPE_FP32
    dims: [ {dims} ]
  }},
  {{
    name: "mask"
    data_type: TYPE_UINT8
    dims: [ {dims} ]
  }}{head}
]
dynamic_batching {{
  preferred_batch_size: [ {max_batch} ]
  max_queue_delay_microseconds: {QUEUE_DELAY_US}
}}
instance_group [
  {{
    count: {instances}
    kind: KIND_CPU
  }}
]
'''


def gate_text(classes: tuple[dict, ...], gate: dict | None, head_classes: int) -> str:
    """The README's lines on the classifier head and, when applied, its gate (client-side, as min_area)."""
    if not head_classes:
        return ""
    gates = ([(f"class {c['class_id']} {c['name']} (column {k})", c["gate"]) for k, c in enumerate(classes)
              if "gate" in c] if classes else ([("the part", gate)] if gate is not None else []))
    lines = f"- Output `{IMAGE_OUTPUT}`: FP32 [N, {head_classes}], the classifier head's probability that the part " \
            "has a defect (of each class); its largest column is the part score `unet serve` ranks by.\n"
    if not gates:
        return lines
    each = "; ".join(f"{who}: defective when its probability is {g['threshold']:g} or more"
                     + (f", or its mask's largest component (after min_area) has {g['area_bar']} pixels or more"
                        + (f" (at {g['area_at'][0]}x{g['area_at'][1]}, scaled with the image's area)"
                           if g.get("area_at") else "")
                        if g.get("area_bar") is not None else "") for who, g in gates)
    return lines + (f"- The part's verdict (the classifier gate, applied on the client as `unet serve` does): {each}; "
                    "the mask of a part (or class) called good is emptied, and a part the head flags is defective "
                    "even where its mask is empty.\n")


def readme_text(name: str, threshold: float, min_area: int, geometry: str, classes: tuple[dict, ...] = (),
                gate: dict | None = None, head_classes: int = 0) -> str:
    area = (f"then remove connected components (8-connected) of fewer than {min_area} pixels from `mask` on the "
            "client: the graph has no connected components, so this step is yours (`unet serve` does it)"
            if min_area > 0 else "min_area is 0, so `mask` is the whole decision")
    shape = f"[N, H, W, {len(classes)}]" if classes else "[N, H, W]"
    if classes:
        each = "; ".join(f"channel {k}: class {c['class_id']} {c['name']}, threshold {c['threshold']:g}, min_area "
                         f"{c['min_area']}" for k, c in enumerate(classes))
        rest = ("remove each channel's connected components (8-connected) below its min_area on the client, as "
                "`unet serve` does" if any(c["min_area"] for c in classes) else "every min_area is 0, so `mask` is "
                "the whole decision")
        area = f"one channel per defect class ({each}); {rest}"
    return f"""# Triton model repository for `{name}` (written by `unet export --format triton`)

Point Triton at the folder above this one: `tritonserver --model-repository <that folder>`.

- Input `image`: UINT8 [N, H, W, 1], gray pixel values 0-255 of any size ({geometry} geometry in the graph).
- Output `probabilities`: FP32 {shape}. Output `mask`: UINT8 {shape}, 1 where the probability
  is above {"its class's threshold" if classes else f"{threshold:g}"}; {area}.
{gate_text(classes, gate, head_classes)}- The same infer call works against `unet serve`, which also applies min_area.
- unet_export.json beside this file is the export's manifest (threshold, min_area, normalization, step).

Not run on a Triton server by this project's tests: they parse config.pbtxt against Triton's
ModelConfig and run model.onnx with ONNX Runtime.
"""


def write_repository(archive: Path, model_root: Path, name: str, max_batch: int, threshold: float,
                     min_area: int, geometry: str, classes: tuple[dict, ...] = (), gate: dict | None = None,
                     head_classes: int = 0) -> None:
    """model.onnx from the uint8 archive (unet-defects' repository_archive), then the config
    and the README beside it; `classes`: the manifest's entries of a model of several classes;
    `gate`: one class's applied classifier gate; `head_classes`: the head's outputs (0: none)."""
    (model_root / "1").mkdir(parents=True, exist_ok=True)
    onnx.convert(archive, model_root / MODEL_FILE, None)
    (model_root / "config.pbtxt").write_text(config_text(name, max_batch, classes=len(classes),
                                                         head_classes=head_classes), encoding="utf-8")
    (model_root / "README.md").write_text(readme_text(name, threshold, min_area, geometry, classes, gate, head_classes),
                                          encoding="utf-8")
