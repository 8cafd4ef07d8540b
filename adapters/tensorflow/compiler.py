"""TensorFlowCompiler: --validate_only traces one training step for the pipeline's batches;
--compile_only compiles it with XLA for this device and writes the optimized HLO and a report."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import numpy as np

from unet_defects.adapters.tensorflow.device import DevicePlan, device_scope, op_determinism_enabled
from unet_defects.adapters.tensorflow.streams import describe
from unet_defects.adapters.tensorflow.training_setup import build_training
from unet_defects.application.ports import CompileJob
from unet_defects.application.values import BatchSpec, CompileDetails
from unet_defects.domain.errors import UnetError
from unet_defects.domain.losses import LossSpec
from unet_defects.domain.training import OptimizerSpec


class TensorFlowCompiler:
    def __init__(self, optimizer: OptimizerSpec, loss: LossSpec, plan: DevicePlan, batch_size: int,
                 device: str | None = None) -> None:
        self._optimizer = optimizer
        self._loss = loss
        self._plan = plan
        self._batch_size = batch_size
        self._device = device

    def describe(self, stream: Any) -> BatchSpec:
        return describe(stream)

    def _step_function(self, job: CompileJob, jit: bool):
        import tensorflow as tf

        model = job.build_model()
        setup = build_training(model, self._optimizer, self._loss, self._plan.policy)
        signature = [tf.TensorSpec([self._batch_size, *spec.shape[1:]], spec.dtype)
                     for spec in (job.batch.images, job.batch.masks)]
        return model, tf.function(setup.train_step.step_on, jit_compile=jit), signature

    def validate(self, job: CompileJob) -> list[str]:
        """Trace one training step without running it; the problems found, one line each."""
        try:
            with device_scope(self._device):
                _, function, signature = self._step_function(job, jit=False)
                function.get_concrete_function(*signature)
        except Exception as error:  # any tracing failure is a finding, reported in one line
            return [f"tracing the training step failed: {str(error).strip().splitlines()[-1][:300]}"]
        return []

    def compile(self, job: CompileJob) -> CompileDetails:
        if op_determinism_enabled():  # process-wide, and XLA has no deterministic kernels for the step
            raise UnetError("compile_only: op determinism is on in this process (an earlier run with "
                            "runconfig.tf_random_seed turned it on) and XLA cannot compile under it; "
                            "compile in a new process")
        with device_scope(self._device):
            model, function, signature = self._step_function(job, jit=True)
            tick = time.perf_counter()
            try:
                hlo = function.experimental_get_compiler_ir(*signature)(stage="optimized_hlo")
            except Exception as error:  # XLA refusals come in many types
                raise UnetError(f"compiling the training step with XLA failed: "
                                f"{str(error).strip().splitlines()[-1][:300]}") from None
            seconds = time.perf_counter() - tick
        folder = Path(job.output)
        folder.mkdir(parents=True, exist_ok=True)
        hlo_path = folder / "train_step.optimized_hlo.txt"
        hlo_path.write_text(hlo)
        variables = sum(np.asarray(v.numpy()).nbytes for v in model.variables)
        instructions = sum(1 for line in hlo.splitlines() if " = " in line)
        report = {
            "compile_seconds": round(seconds, 3), "device": self._plan.device, "precision": self._plan.policy,
            "parameters": int(model.count_params()), "batch_size": self._batch_size,
            "hlo_instructions": instructions,
            # Weights plus two Adam-like slots: a floor on the memory the step needs, not a measurement.
            "weights_and_optimizer_bytes_estimate": 3 * variables,
            "hlo": str(hlo_path),
        }
        report_path = folder / "compile_report.json"
        report_path.write_text(json.dumps(report, indent=2) + "\n")
        return CompileDetails(
            summary=f"compiled the training step with XLA in {seconds:.1f} s: {instructions} HLO instructions",
            files=(str(hlo_path), str(report_path)),
        )
