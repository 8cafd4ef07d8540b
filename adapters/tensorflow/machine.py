"""TensorFlowMachineProbe: versions, CPU, GPUs, threads and extras, for `unet info`."""

from __future__ import annotations

import os
import platform
import re
from importlib import metadata

from unet_defects.adapters.hardware import cpu_flags, cpu_model, installed_tensorflow, nvidia_device_present
from unet_defects.application.info import MachineFacts

PROJECT = "unet-defects"


def _version(distribution: str) -> str:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return "not installed"


def _extra_needs(distribution: str, extra: str, seen: set[tuple[str, str]]) -> list[str]:
    """The distributions `distribution[extra]` needs, following extras of extras
    (`tensorflow[and-cuda]`, `unet-defects[deploy,serve]`) so an extra reads as installed only
    when what it finally brings is there."""
    from packaging.requirements import Requirement

    if (distribution, extra) in seen:
        return []
    seen.add((distribution, extra))
    try:
        requirements = metadata.requires(distribution) or []
    except metadata.PackageNotFoundError:
        return []
    names = []
    for line in requirements:
        requirement = Requirement(line)
        marker = requirement.marker
        if marker is None or "extra" not in str(marker) or not marker.evaluate({"extra": extra}):
            continue
        names.append(requirement.name)
        for nested in sorted(requirement.extras):
            names.extend(_extra_needs(requirement.name, nested, seen))
    return names


def installed_extras(distribution: str = PROJECT) -> tuple[tuple[str, bool], ...]:
    """Each extra of the project, and whether every distribution it brings is installed."""
    try:
        requirements = metadata.requires(distribution) or []
    except metadata.PackageNotFoundError:
        return ()
    extras = sorted({found.group(1) for line in requirements
                     if (found := re.search(r"""extra\s*==\s*["']([^"']+)["']""", line))})
    return tuple((extra, all(_version(name) != "not installed" for name in _extra_needs(distribution, extra, set())))
                 for extra in extras)


class TensorFlowMachineProbe:
    def facts(self, extras: bool = True) -> MachineFacts:
        import keras
        import tensorflow as tf

        return MachineFacts(
            project_version=_version(PROJECT), python_version=platform.python_version(),
            tensorflow_version=tf.__version__, keras_version=keras.__version__,
            tensorflow_distributions=tuple(installed_tensorflow()), cpu_model=cpu_model(),
            cpu_flags=frozenset(cpu_flags()), cores=os.cpu_count() or 1,
            gpus=tuple(device.name for device in tf.config.list_physical_devices("GPU")),
            nvidia_attached=nvidia_device_present(),
            intra_op_threads=tf.config.threading.get_intra_op_parallelism_threads(),
            inter_op_threads=tf.config.threading.get_inter_op_parallelism_threads(),
            extras=installed_extras() if extras else (),
        )
