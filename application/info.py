"""Use case: `unet info`, what a bug report needs to know about this machine and install."""

from __future__ import annotations

from typing import Protocol

import attrs

from unet_defects.domain.experiment import PrecisionSpec
from unet_defects.domain.precision import DevicePlan, Machine, machine_warnings, plan

NOTABLE_CPU_FLAGS = ("avx2", "fma", "avx512f", "avx512_bf16", "amx_bf16", "amx_tile")


def describe_cpu_flags(flags) -> str:
    """"avx2 yes, fma yes, avx512f no, ...": the flags every figure is reported beside."""
    return ", ".join(f"{flag} {'yes' if flag in flags else 'no'}" for flag in NOTABLE_CPU_FLAGS)


@attrs.frozen(kw_only=True)
class MachineFacts:
    project_version: str
    python_version: str
    tensorflow_version: str
    keras_version: str
    tensorflow_distributions: tuple[str, ...]
    cpu_model: str
    cpu_flags: frozenset[str] = attrs.field(converter=frozenset)
    cores: int
    gpus: tuple[str, ...]  # the GPUs TensorFlow sees
    nvidia_attached: bool
    intra_op_threads: int  # 0: TensorFlow chooses (one per core)
    inter_op_threads: int
    extras: tuple[tuple[str, bool], ...]  # (extra, installed)


class MachineProbe(Protocol):
    def facts(self, extras: bool = True) -> MachineFacts:
        """This machine and installation, probed; `extras=False` leaves `extras` empty (finding
        which extras are installed takes about a second, which a tracked run does not spend)."""


def cpu_line(facts: MachineFacts) -> str:
    """`unet info`'s CPU line, which a tracked run records too."""
    return f"{facts.cpu_model}, {facts.cores} cores; {describe_cpu_flags(facts.cpu_flags)}"


def gpu_line(facts: MachineFacts) -> str:
    """`unet info`'s line of the GPUs TensorFlow sees, which a tracked run records too."""
    return ", ".join(facts.gpus) or ("none (an NVIDIA device is attached)" if facts.nvidia_attached
                                     else "none (no NVIDIA device attached)")


@attrs.frozen
class InfoReport:
    facts: MachineFacts
    plan: DevicePlan  # what `mixed_precision: True` with channels_first (the presets) resolves to here
    warnings: tuple[str, ...]

    def as_dict(self) -> dict:
        facts = attrs.asdict(self.facts, recurse=False)
        facts["cpu_flags"] = {flag: flag in self.facts.cpu_flags for flag in NOTABLE_CPU_FLAGS}
        facts["gpus"] = list(self.facts.gpus)
        facts["tensorflow_distributions"] = list(self.facts.tensorflow_distributions)
        facts["extras"] = dict(self.facts.extras)
        reason = self.plan.notes[0].split(": ", 1)[1]
        facts["mixed_precision"] = {"precision": self.plan.policy, "data_format": self.plan.data_format,
                                    "device": self.plan.device, "why": reason}
        facts["warnings"] = list(self.warnings)
        return facts


class InfoUseCase:
    def __init__(self, probe: MachineProbe) -> None:
        self._probe = probe

    def execute(self) -> InfoReport:
        facts = self._probe.facts()
        machine = Machine(gpus=len(facts.gpus), cpu_flags=facts.cpu_flags, nvidia_attached=facts.nvidia_attached,
                          tensorflow=facts.tensorflow_distributions)
        resolved = plan(PrecisionSpec(mixed_precision=True), "channels_first", machine)
        return InfoReport(facts=facts, plan=resolved, warnings=machine_warnings(machine))
