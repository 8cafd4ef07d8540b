"""What keeps a training process safe on the machine: stop signals turned into a checkpoint,
and a model_dir checked for room before the first step."""

from __future__ import annotations

import shutil
import signal
import threading
from pathlib import Path
from typing import Any

from unet_defects.domain.errors import UnetError


class StopSignals:
    """Turns SIGINT and SIGTERM into a flag the training loop checks between compiled calls,
    so that it can write a checkpoint before it exits."""

    def __init__(self) -> None:
        self.signum: int | None = None
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> StopSignals:
        if threading.current_thread() is threading.main_thread():
            for signum in (signal.SIGINT, signal.SIGTERM):
                self._previous[signum] = signal.signal(signum, self._record)
        return self

    def _record(self, signum: int, frame: Any) -> None:
        self.signum = signum

    def __exit__(self, *exc_info) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)

    @property
    def name(self) -> str:
        return signal.Signals(self.signum).name if self.signum is not None else ""


def check_writable(model_dir: Path, needed_bytes: int) -> None:
    """Fail before training when model_dir cannot take a checkpoint."""
    try:
        model_dir.mkdir(parents=True, exist_ok=True)
        probe = model_dir / ".write-test"
        probe.write_bytes(b"ok")
        probe.unlink()
    except OSError as error:
        raise UnetError(f"{model_dir}: model_dir is not writable ({error.strerror or error})") from None
    free = shutil.disk_usage(model_dir).free
    if free < needed_bytes:
        raise UnetError(
            f"{model_dir}: {free / 2**20:.0f} MB free, a checkpoint needs about {needed_bytes / 2**20:.0f} MB"
        )
