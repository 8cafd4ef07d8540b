"""What this machine has, read from the operating system with the standard library only (the
install script uses it before any dependency is there): CPU model and flags, NVIDIA devices,
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


TENSORFLOW_CHOICES = ("auto", "cpu", "cuda")


def tensorflow_requirement(choice: str, system: str, machine: str, nvidia: bool, version: str = ">=2.16") -> str:
    """The TensorFlow distribution an install asks for (setup.py): UNET_TENSORFLOW's `choice`,
    `auto` meaning CUDA when an NVIDIA device is attached to a Linux x86_64 machine. The small
    CPU build exists only for Linux x86_64; elsewhere the regular wheel is the CPU one."""
    choice = choice.strip().lower() or "auto"
    if choice not in TENSORFLOW_CHOICES:
        raise ValueError(f"UNET_TENSORFLOW: expected one of {', '.join(TENSORFLOW_CHOICES)}, got {choice!r}")
    linux_x86 = system == "linux" and machine.lower() in ("x86_64", "amd64")
    if choice == "auto":
        choice = "cuda" if linux_x86 and nvidia else "cpu"
    if choice == "cuda":
        return f"tensorflow[and-cuda]{version}"
    return f"tensorflow-cpu{version}" if linux_x86 else f"tensorflow{version}"
