"""One training process per model_dir: an advisory lock the kernel drops when its holder dies.

The lock file keeps the holder's PID and start time so that a refused process can say who
holds it; a lock left behind by a killed process is not held any more, so the next run simply
takes it over.
"""

from __future__ import annotations

import os
import socket
import time
from pathlib import Path

from unet_defects.domain.errors import UnetError

LOCK_NAME = ".train.lock"


class ModelDirBusy(UnetError):
    """Another live process is training into the same model_dir."""


class ModelDirLock:
    def __init__(self, model_dir: str | os.PathLike) -> None:
        self._path = Path(model_dir) / LOCK_NAME
        self._handle = None

    def __enter__(self) -> ModelDirLock:
        try:
            import fcntl
        except ImportError:  # not POSIX: no advisory locks, run unguarded
            return self
        self._path.parent.mkdir(parents=True, exist_ok=True)
        handle = open(self._path, "a+", encoding="utf-8")
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            handle.close()
            raise ModelDirBusy(f"{self._path.parent}: already being trained by {holder}; wait for it or stop it") from None
        handle.seek(0)
        handle.truncate()
        started = time.strftime("%Y-%m-%d %H:%M:%S")
        handle.write(f"process {os.getpid()} on {socket.gethostname()} (started {started})\n")
        handle.flush()
        self._handle = handle
        return self

    def __exit__(self, *exc_info) -> None:
        if self._handle is not None:
            self._handle.close()  # closing releases the lock
            self._handle = None
