"""CerebrasCompiler: --validate_only and --compile_only on a Cerebras system (the Estimator's
`compile`, which checks up to kernel matching or compiles to an executable)."""

from __future__ import annotations

from typing import Any

from unet_defects.adapters.cerebras.estimator import EstimatorContract, vendor
from unet_defects.adapters.tensorflow.streams import describe
from unet_defects.application.ports import CompileJob
from unet_defects.application.values import BatchSpec, CompileDetails
from unet_defects.domain.experiment import ExperimentSpec


class CerebrasCompiler:
    def __init__(self, experiment: ExperimentSpec, warm_start: str | None = None) -> None:
        self._experiment = experiment
        self._warm_start = warm_start

    def describe(self, stream: Any) -> BatchSpec:
        return describe(stream)

    def _compile(self, job: CompileJob, validate_only: bool) -> None:
        vendor()
        contract = EstimatorContract(self._experiment, job.build_model, job.open_stream, self._warm_start)
        contract.estimator().compile(contract.input_fn, validate_only=validate_only, mode="train")

    def validate(self, job: CompileJob) -> list[str]:
        self._compile(job, validate_only=True)
        return []

    def compile(self, job: CompileJob) -> CompileDetails:
        self._compile(job, validate_only=False)
        return CompileDetails(summary=f"compiled for the Cerebras system at {self._experiment.run.cs_ip}")
