"""Which precision and data format a run gets on a machine, from the facts about it.

`mixed_precision: True` resolves to float16 compute on a GPU, bfloat16 on a CPU with native
bfloat16 (AMX or AVX512_BF16), and float32 elsewhere: float16 on a CPU is emulated and slow.
`channels_first` runs as channels_last on a CPU, whose convolution kernels want NHWC.
"""

from __future__ import annotations

from collections.abc import Iterable

import attrs

from unet_defects.domain.experiment import PrecisionSpec

BF16_CPU_FLAGS = ("amx_bf16", "avx512_bf16")


def native_bf16_flags(flags: frozenset[str] | set[str]) -> list[str]:
    """The CPU flags that give native bfloat16 (sorted; empty where it would be emulated)."""
    return sorted(set(flags).intersection(BF16_CPU_FLAGS))


GPU_INSTALL = 'pip uninstall -y tensorflow-cpu && pip install -e ".[cuda]"'


def _flag_set(flags: Iterable[str]) -> frozenset[str]:
    """Machine.cpu_flags' converter (a typed frozenset)."""
    return frozenset(flags)


@attrs.frozen
class Machine:
    """What the plan depends on, as probed: GPUs TensorFlow sees, CPU flags, whether an NVIDIA
    device is attached at all, and the TensorFlow distributions installed."""

    gpus: int
    cpu_flags: frozenset[str] = attrs.field(converter=_flag_set, factory=frozenset)
    nvidia_attached: bool = False
    tensorflow: tuple[str, ...] = ()


@attrs.frozen
class DevicePlan:
    device: str  # "GPU", "CPU" (or the system it runs on)
    policy: str  # a Keras dtype policy name
    data_format: str
    notes: tuple[str, ...] = ()

    @property
    def reduced_precision(self) -> bool:
        return self.policy != "float32"


def resolve_precision(spec: PrecisionSpec, on_gpu: bool, flags: frozenset[str] | set[str]) -> tuple[str, str]:
    """(policy, reason) for the precision spec on this device."""
    if spec.precision != "auto":
        if spec.precision == "mixed_float16" and not on_gpu:
            return spec.precision, "forced by model.precision (float16 on a CPU is emulated and slow)"
        return spec.precision, "forced by model.precision"
    if not spec.mixed_precision:
        return "float32", "model.mixed_precision is False"
    if on_gpu:
        return "mixed_float16", "GPU: float16 compute with loss scaling"
    native = native_bf16_flags(flags)
    if native:
        return "mixed_bfloat16", f"CPU with native bfloat16 ({', '.join(native)})"
    return "float32", "CPU without native bfloat16 (no AMX or AVX512_BF16): float32"


def resolve_data_format(requested: str, on_gpu: bool) -> tuple[str, str | None]:
    if requested == "channels_first" and not on_gpu:
        # TensorFlow's CPU convolution kernels want NHWC; NCHW adds a transpose per layer.
        return "channels_last", "data_format channels_first resolved to channels_last on the CPU"
    return requested, None


def machine_warnings(machine: Machine) -> tuple[str, ...]:
    """What is wrong with the installation for this machine, one line each."""
    warnings = []
    if len(machine.tensorflow) > 1:
        warnings.append(f"both {' and '.join(machine.tensorflow)} are installed, which overwrite each other; "
                        f"reinstall one: pip uninstall -y {' '.join(machine.tensorflow)} && pip install -e .")
    if machine.nvidia_attached and machine.gpus == 0:
        if "tensorflow-cpu" in machine.tensorflow or not machine.tensorflow:
            warnings.append(f"an NVIDIA GPU is attached but this TensorFlow is the CPU build, so this runs on the "
                            f"CPU; to use the GPU: {GPU_INSTALL}")
        else:
            warnings.append("an NVIDIA GPU is attached but TensorFlow sees none, so this runs on the CPU; check the "
                            "driver (nvidia-smi) and the CUDA libraries (pip install -e \".[cuda]\")")
    return tuple(warnings)


def plan(spec: PrecisionSpec, data_format: str, machine: Machine) -> DevicePlan:
    on_gpu = machine.gpus > 0
    policy, reason = resolve_precision(spec, on_gpu, machine.cpu_flags)
    fmt_note: str | None
    if spec.force_data_format:
        fmt, fmt_note = data_format, f"data_format {data_format} kept (model.force_data_format)"
    else:
        fmt, fmt_note = resolve_data_format(data_format, on_gpu)
    notes = (f"precision {policy}: {reason}",) + ((fmt_note,) if fmt_note else ()) + machine_warnings(machine)
    return DevicePlan(device="GPU" if on_gpu else "CPU", policy=policy, data_format=fmt, notes=notes)
