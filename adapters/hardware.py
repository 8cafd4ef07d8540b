"""What this machine has, read from the operating system with the standard library only (so
`unet info` can report it even when TensorFlow is broken): CPU model and flags, NVIDIA devices,
and which TensorFlow distributions are installed."""

from __future__ import annotations

import glob
import shutil
from collections.abc import Callable
from importlib import metadata
from pathlib import Path

CPUINFO = "/proc/cpuinfo"
TENSORFLOW_DISTRIBUTIONS = ("tensorflow", "tensorflow-cpu", "tensorflow-gpu", "tf-nightly", "tf-nightly-cpu")


def read_cpuinfo(path: str = CPUINFO) -> str:
    try:
        return Path(path).read_text()
    except OSError:
        return ""


def _field(cpuinfo: str, name: str) -> str | None:
    for line in cpuinfo.splitlines():
        key, _, value = line.partition(":")
        if key.strip() == name:
            return value.strip()
    return None


def cpu_flags(cpuinfo: str | None = None) -> set[str]:
    """The CPU feature flags of this (Linux) machine; empty where they cannot be read."""
    line = _field(read_cpuinfo() if cpuinfo is None else cpuinfo, "flags")
    return set(line.split()) if line else set()


def cpu_model(cpuinfo: str | None = None) -> str:
    import platform

    return _field(read_cpuinfo() if cpuinfo is None else cpuinfo, "model name") or platform.processor() or "unknown"


def nvidia_device_present(devices: Callable[[str], list[str]] = glob.glob,
                          which: Callable[[str], str | None] = shutil.which) -> bool:
    """An NVIDIA GPU is attached: its device nodes (/dev/nvidia0, ...) exist or nvidia-smi is
    installed. Says nothing of whether TensorFlow can use it."""
    return bool(devices("/dev/nvidia[0-9]*")) or which("nvidia-smi") is not None


PROJECT = "unet-defects"


def project_version() -> str | None:
    """This project's installed version, None when it runs from a tree that is not installed."""
    try:
        return metadata.version(PROJECT)
    except metadata.PackageNotFoundError:
        return None


def installed_tensorflow() -> list[str]:
    """The TensorFlow distributions installed here (more than one is a broken environment)."""
    found = []
    for name in TENSORFLOW_DISTRIBUTIONS:
        try:
            metadata.distribution(name)
        except metadata.PackageNotFoundError:
            continue
        found.append(name)
    return found
