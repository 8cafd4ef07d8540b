"""Use case: --validate_only and --compile_only, a training step checked or compiled, not run."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import attrs

from application.ports import DatasetReader, Executor, ModelBuilder
from domain.data import DataSpec
from domain.topology import UNetSpec


@attrs.frozen
class CompileReport:
    kind: str  # "validate" or "compile"
    problems: tuple[str, ...]
    parameters: int
    forward_flops_per_image: int
    precision: str
    details: dict[str, Any] = attrs.field(factory=dict)


def element_problems(element_spec: Any, data: DataSpec, stride: int) -> list[str]:
    """What the training pipeline delivers against what the model needs, one line each."""
    problems: list[str] = []
    try:
        image_spec, mask_spec = element_spec
    except (TypeError, ValueError):
        return [f"the training stream yields {element_spec!r}, not (images, masks)"]
    image_shape, mask_shape = list(image_spec.shape), list(mask_spec.shape)
    if len(image_shape) != 4 or len(mask_shape) != 4:
        return [f"expected NHWC batches, got images {image_shape} and masks {mask_shape}"]
    if image_shape[1:] != list(data.image_shape):
        problems.append(f"train_input.image_shape: the pipeline yields {image_shape[1:]}, the model expects "
                        f"{list(data.image_shape)}")
    if mask_shape[1:3] != image_shape[1:3] or mask_shape[3] != 1:
        problems.append(f"masks {mask_shape[1:]} do not match images {image_shape[1:3]} with one channel")
    for name, spec in (("images", image_spec), ("masks", mask_spec)):
        if spec.dtype.name != "float32":
            problems.append(f"{name} arrive as {spec.dtype.name}; the training step takes float32")
    for side in image_shape[1:3]:
        if side is not None and side % stride:
            problems.append(f"train_input.image_shape: side {side} is not a multiple of the network's stride {stride}")
    return problems


class CompileUseCase:
    def __init__(self, builder: ModelBuilder, dataset: DatasetReader, executor: Executor, topology: UNetSpec,
                 data: DataSpec, precision: str, model_dir: str) -> None:
        self._builder = builder
        self._dataset = dataset
        self._executor = executor
        self._topology = topology
        self._data = data
        self._precision = precision
        self._model_dir = model_dir

    def execute(self, kind: str) -> CompileReport:
        stream = self._dataset.training_stream()
        spec = stream.element_spec
        problems = element_problems(spec, self._data, self._topology.stride)
        model = self._builder.build(self._topology)
        details: dict[str, Any] = {}
        if not problems:
            if kind == "validate":
                problems = self._executor.validate(model, spec)
            else:
                details = self._executor.compile(model, spec, str(Path(self._model_dir) / "compile"))
        return CompileReport(kind, tuple(problems), self._topology.parameter_count(),
                             self._topology.forward_flops(), self._precision, details)
