"""Use case: --validate_only and --compile_only, a training step checked or compiled, not run."""

from __future__ import annotations

from pathlib import Path

import attrs

from unet_defects.application.ports import CompileJob, Compiler, DatasetReader, ModelBuilder
from unet_defects.application.values import BatchSpec, CompileDetails
from unet_defects.domain.data import DataSpec
from unet_defects.domain.errors import DataProblems
from unet_defects.domain.invocation import Invocation
from unet_defects.domain.topology import UNetSpec


@attrs.frozen
class CompileReport:
    kind: str  # "validate" or "compile"
    problems: tuple[str, ...]
    parameters: int
    forward_flops_per_image: int
    precision: str
    details: CompileDetails | None = None


def element_problems(batch: BatchSpec, data: DataSpec, stride: int) -> list[str]:
    """What the training pipeline delivers against what the model needs, one line each."""
    if batch.images is None or batch.masks is None:
        return [batch.problem or "the training stream does not yield (images, masks)"]
    problems: list[str] = []
    image_shape, mask_shape = list(batch.images.shape), list(batch.masks.shape)
    if len(image_shape) != 4 or len(mask_shape) != 4:
        return [f"expected NHWC batches, got images {image_shape} and masks {mask_shape}"]
    if image_shape[1:] != list(data.image_shape):
        problems.append(f"train_input.image_shape: the pipeline yields {image_shape[1:]}, the model expects "
                        f"{list(data.image_shape)}")
    if mask_shape[1:3] != image_shape[1:3] or mask_shape[3] != 1:
        problems.append(f"masks {mask_shape[1:]} do not match images {image_shape[1:3]} with one channel")
    for name, spec in (("images", batch.images), ("masks", batch.masks)):
        if spec.dtype != "float32":
            problems.append(f"{name} arrive as {spec.dtype}; the training step takes float32")
    for side in image_shape[1:3]:
        if side is not None and side % stride:
            problems.append(f"train_input.image_shape: side {side} is not a multiple of the network's stride {stride}")
    return problems


class CompileUseCase:
    def __init__(self, builder: ModelBuilder, dataset: DatasetReader, compiler: Compiler, topology: UNetSpec,
                 data: DataSpec, precision: str, model_dir: str, invocation: Invocation) -> None:
        self._builder = builder
        self._dataset = dataset
        self._compiler = compiler
        self._topology = topology
        self._data = data
        self._precision = precision
        self._model_dir = model_dir
        self._invocation = invocation

    def execute(self, kind: str | None = None) -> CompileReport:
        """Check both splits' files and the training batches, then validate or compile the step."""
        kind = kind or self._invocation.compile_kind or "validate"
        problems: list[str] = []
        details = None
        streams = []
        for open_stream in (self._dataset.training_stream, self._dataset.evaluation_stream):
            try:  # a file reader checks the split's files as it opens it
                streams.append(open_stream())
            except DataProblems as found:
                problems += found.problems
        if not problems:
            batch = self._compiler.describe(streams[0])
            problems = element_problems(batch, self._data, self._topology.stride)
        if not problems:
            topology = self._topology
            job = CompileJob(build_model=lambda: self._builder.build(topology),
                             open_stream=self._dataset.training_stream, batch=batch,
                             output=str(Path(self._model_dir) / "compile"))
            if kind == "validate":
                problems = self._compiler.validate(job)
            else:
                details = self._compiler.compile(job)
        return CompileReport(kind, tuple(problems), self._topology.parameter_count(),
                             self._topology.forward_flops(), self._precision, details)
