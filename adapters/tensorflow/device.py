"""The machine at hand, probed (never assumed), and the device plan it gets (domain.precision)."""

from __future__ import annotations

import contextlib
from typing import Any

from unet_defects.adapters.hardware import cpu_flags, installed_tensorflow, nvidia_device_present
from unet_defects.domain.experiment import PrecisionSpec
from unet_defects.domain.precision import BF16_CPU_FLAGS, DevicePlan, Machine, plan

__all__ = ["BF16_CPU_FLAGS", "DevicePlan", "Machine", "cpu_flags", "device_scope", "gpu_count",
           "op_determinism_enabled", "plan_device", "probe_machine"]


def gpu_count() -> int:
    import tensorflow as tf

    return len(tf.config.list_physical_devices("GPU"))


def probe_machine() -> Machine:
    return Machine(gpus=gpu_count(), cpu_flags=frozenset(cpu_flags()), nvidia_attached=nvidia_device_present(),
                   tensorflow=tuple(installed_tensorflow()))


def plan_device(spec: PrecisionSpec, data_format: str, machine: Machine | None = None) -> DevicePlan:
    """The plan for this machine (probed unless given)."""
    return plan(spec, data_format, machine or probe_machine())


def op_determinism_enabled() -> bool:
    """Whether this process runs ops deterministically (enabled by a seeded training run)."""
    from tensorflow.python.framework import config  # the public API can enable it but not ask

    return bool(config.is_op_determinism_enabled())


def device_scope(device: str | None) -> Any:
    """`tf.device(device)` for --device, or no placement at all."""
    if not device:
        return contextlib.nullcontext()
    import tensorflow as tf

    return tf.device(device)
