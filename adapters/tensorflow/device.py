"""What the hardware at hand can do, detected (never assumed), and the precision it gets.

`mixed_precision: True` resolves to float16 compute on a GPU, bfloat16 on a CPU with native
bfloat16 (AMX or AVX512_BF16), and float32 elsewhere: float16 on a CPU is emulated and slow.
"""

from __future__ import annotations

import contextlib
import logging
from pathlib import Path
from typing import Any

import attrs

from domain.experiment import PrecisionSpec

log = logging.getLogger("unet")

BF16_CPU_FLAGS = ("amx_bf16", "avx512_bf16")


def cpu_flags(cpuinfo: str | None = None) -> set[str]:
    """The CPU feature flags of this (Linux) machine; empty where they cannot be read."""
    if cpuinfo is None:
        try:
            cpuinfo = Path("/proc/cpuinfo").read_text()
        except OSError:
            return set()
    for line in cpuinfo.splitlines():
        if line.startswith("flags"):
            return set(line.partition(":")[2].split())
    return set()


def gpu_count() -> int:
    import tensorflow as tf

    return len(tf.config.list_physical_devices("GPU"))


@attrs.frozen
class DevicePlan:
    device: str  # "GPU" or "CPU"
    policy: str  # Keras dtype policy name
    data_format: str
    notes: tuple[str, ...] = ()

    @property
    def reduced_precision(self) -> bool:
        return self.policy != "float32"


def resolve_precision(spec: PrecisionSpec, on_gpu: bool, flags: set[str]) -> tuple[str, str]:
    """(policy, reason) for the precision spec on this device."""
    if spec.precision != "auto":
        if spec.precision == "mixed_float16" and not on_gpu:
            return spec.precision, "forced by model.precision (float16 on a CPU is emulated and slow)"
        return spec.precision, "forced by model.precision"
    if not spec.mixed_precision:
        return "float32", "model.mixed_precision is False"
    if on_gpu:
        return "mixed_float16", "GPU: float16 compute with loss scaling"
    native = sorted(flags.intersection(BF16_CPU_FLAGS))
    if native:
        return "mixed_bfloat16", f"CPU with native bfloat16 ({', '.join(native)})"
    return "float32", "CPU without native bfloat16 (no AMX or AVX512_BF16): float32"


def resolve_data_format(requested: str, on_gpu: bool) -> tuple[str, str | None]:
    if requested == "channels_first" and not on_gpu:
        # TensorFlow's CPU convolution kernels want NHWC; NCHW adds a transpose per layer.
        return "channels_last", "data_format channels_first resolved to channels_last on the CPU"
    return requested, None


def plan_device(spec: PrecisionSpec, data_format: str, gpus: int | None = None,
                flags: set[str] | None = None) -> DevicePlan:
    """The plan for this machine: `gpus` and `flags` are probed (TensorFlow's GPUs, /proc/cpuinfo)
    unless given."""
    on_gpu = (gpu_count() if gpus is None else gpus) > 0
    policy, reason = resolve_precision(spec, on_gpu, cpu_flags() if flags is None else flags)
    if spec.force_data_format:
        fmt, fmt_note = data_format, f"data_format {data_format} kept (model.force_data_format)"
    else:
        fmt, fmt_note = resolve_data_format(data_format, on_gpu)
    notes = (f"precision {policy}: {reason}",) + ((fmt_note,) if fmt_note else ())
    return DevicePlan(device="GPU" if on_gpu else "CPU", policy=policy, data_format=fmt, notes=notes)


def device_scope(device: str | None) -> Any:
    """`tf.device(device)` for --device, or no placement at all."""
    if not device:
        return contextlib.nullcontext()
    import tensorflow as tf

    return tf.device(device)
