"""TensorFlowMachineProbe: versions, CPU, GPUs, threads and extras, for `unet info`."""

from __future__ import annotations

import os
import platform
import re
from importlib import metadata

from adapters.hardware import cpu_flags, cpu_model, installed_tensorflow, nvidia_device_present
from application.info import MachineFacts

PROJECT = "unet-defects"


def _version(distribution: str) -> str:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return "not installed"


def installed_extras(distribution: str = PROJECT) -> tuple[tuple[str, bool], ...]:
    """Each extra of the project, and whether every distribution it names is installed."""
    try:
        requirements = metadata.requires(distribution) or []
    except metadata.PackageNotFoundError:
        return ()
    needs: dict[str, list[str]] = {}
    for requirement in requirements:
        extra = re.search(r"""extra\s*==\s*["']([^"']+)["']""", requirement)
        if extra:
            needs.setdefault(extra.group(1), []).append(re.match(r"[A-Za-z0-9._-]+", requirement).group(0))
    return tuple((extra, all(_version(name) != "not installed" for name in names))
                 for extra, names in sorted(needs.items()))


class TensorFlowMachineProbe:
    def facts(self) -> MachineFacts:
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
            extras=installed_extras(),
        )
