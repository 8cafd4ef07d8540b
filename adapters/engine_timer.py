"""EngineTimer: batches through an inference engine, timed one call per step after a warm-up."""

from __future__ import annotations

import time

import numpy as np

from unet_defects.application.ports import InferenceEngine
from unet_defects.application.values import BenchmarkRun


def peak_resident_bytes() -> int:
    """The process's peak resident memory (Linux reports kilobytes, macOS bytes)."""
    import resource
    import sys

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(peak if sys.platform == "darwin" else peak * 1024)


class EngineTimer:
    def time(self, engine: InferenceEngine, batch: np.ndarray, steps: int, warmup_steps: int,
             precision: str) -> BenchmarkRun:
        tick = time.perf_counter()
        for _ in range(warmup_steps):
            engine.outputs(batch)
        warmup_seconds = time.perf_counter() - tick
        seconds = []
        for _ in range(steps):
            tick = time.perf_counter()
            engine.outputs(batch)
            seconds.append(time.perf_counter() - tick)
        return BenchmarkRun(step_seconds=tuple(seconds), peak_memory_bytes=peak_resident_bytes(),
                            device=f"{engine.name} on the CPU", precision=precision, data_format="channels_last",
                            warmup_seconds=warmup_seconds)
