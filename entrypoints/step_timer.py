"""ContainerStepTimer: times a planned configuration on this machine, through the same
container and benchmark use case as `unet run --mode train_benchmark` (the real input pipeline
with it), so that the plan's length comes from a measured step, not an assumed speed."""

from __future__ import annotations

import tempfile
from collections.abc import Mapping
from typing import Any

from application.values import StepTiming

TRAIN_STEPS, TRAIN_WARMUP = 20, 5
INFERENCE_STEPS, INFERENCE_WARMUP = 5, 2


class ContainerStepTimer:
    def __init__(self, train_steps: int = TRAIN_STEPS, warmup_steps: int = TRAIN_WARMUP) -> None:
        self._steps = train_steps
        self._warmup = warmup_steps

    def time(self, params: Mapping[str, Any]) -> StepTiming:
        from entrypoints.container import build_container

        with tempfile.TemporaryDirectory(prefix="unet-plan-") as scratch:
            sections = {section: dict(body) for section, body in params.items()}
            sections.setdefault("runconfig", {})["model_dir"] = scratch
            training = build_container(sections, {"with_input_pipeline": True}).benchmark().execute(
                "train_benchmark", self._steps, self._warmup)
            inference = build_container(sections).benchmark().execute(
                "inference_benchmark", INFERENCE_STEPS, INFERENCE_WARMUP)
        return StepTiming(seconds_per_step=training.batch_size / training.images_per_second,
                          seconds_per_evaluation_image=1.0 / inference.images_per_second,
                          precision=training.precision, machine=machine_line(),
                          startup_seconds=max(0.0, training.warmup_seconds
                                              - self._warmup * training.batch_size / training.images_per_second))


def machine_line() -> str:
    import os

    from adapters.hardware import cpu_flags, cpu_model
    from application.info import describe_cpu_flags

    return f"{cpu_model()}, {os.cpu_count()} cores ({describe_cpu_flags(cpu_flags())})"
