"""Throughput figures of a benchmark run, from measured step times (warm-up excluded)."""

from __future__ import annotations

from collections.abc import Sequence

import attrs
import numpy as np


@attrs.frozen(kw_only=True)
class BenchmarkReport:
    mode: str  # train_benchmark or inference_benchmark
    images_per_second: float
    step_time_median_s: float
    step_time_p90_s: float
    steps: int
    warmup_steps: int
    batch_size: int
    precision: str
    data_format: str
    device: str
    input_pipeline: bool
    peak_memory_mb: float
    flops_per_image: int
    achieved_gflops: float
    warmup_seconds: float = 0.0  # the warm-up steps, compilation included

    def as_dict(self) -> dict:
        return attrs.asdict(self)


def summarize(
    *,
    mode: str,
    step_seconds: Sequence[float],
    batch_size: int,
    flops_per_image: int,
    warmup_steps: int,
    precision: str,
    data_format: str,
    device: str,
    input_pipeline: bool,
    peak_memory_bytes: int,
    warmup_seconds: float = 0.0,
) -> BenchmarkReport:
    """Images/s over the measured steps (total images / total time), with median and p90 step time."""
    times = np.asarray(step_seconds, np.float64)
    if times.size == 0 or np.any(times <= 0):
        raise ValueError("a benchmark needs at least one measured step with a positive duration")
    images_per_second = batch_size * times.size / float(times.sum())
    return BenchmarkReport(
        mode=mode,
        images_per_second=round(images_per_second, 3),
        step_time_median_s=round(float(np.median(times)), 5),
        step_time_p90_s=round(float(np.percentile(times, 90)), 5),
        steps=int(times.size),
        warmup_steps=warmup_steps,
        batch_size=batch_size,
        precision=precision,
        data_format=data_format,
        device=device,
        input_pipeline=input_pipeline,
        peak_memory_mb=round(peak_memory_bytes / 2**20, 1),
        flops_per_image=flops_per_image,
        achieved_gflops=round(images_per_second * flops_per_image / 1e9, 2),
        warmup_seconds=round(warmup_seconds, 3),
    )
