"""Joining Ray, for the commands that run on it (`unet predict --ray`, `unet run --ray`).

Without an address (nor RAY_ADDRESS, which `ray job submit` sets) a local Ray starts with this
machine's cores and stops when the command ends; with one, the driver joins that cluster and
leaves it running. A Ray this process already runs (a test's, a notebook's) is used as it is.
Ray is imported here only, when a command asks for it (the `scale` extra).
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Iterator
from typing import Any

from unet_defects.adapters.runtimes.extras import require
from unet_defects.domain.errors import ConfigError, UnetError

# What every Ray process of a run inherits: TensorFlow's start-up chatter stays out of the output.
WORKER_ENVIRONMENT = {"TF_CPP_MIN_LOG_LEVEL": "2"}


def ray_address(address: str | None) -> str | None:
    return address or os.environ.get("RAY_ADDRESS") or None


def local_workers(address: str | None, workers: int) -> None:
    """A local Ray has this machine's cores, one a worker: more would wait for ever."""
    cores = len(os.sched_getaffinity(0))
    if ray_address(address) is None and workers > cores:
        raise ConfigError(f"--workers {workers}: this machine has {cores} cores, one a worker; use --workers {cores} "
                          "or a Ray cluster (--ray ADDRESS)")


def project_error(error: BaseException) -> UnetError | None:
    """The project's own error inside what Ray raised (a worker's, wrapped with its traceback),
    so that it ends the command as its one line."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        cause = getattr(current, "cause", None)  # RayTaskError: the worker's exception itself
        if isinstance(cause, BaseException):
            current = cause
        elif isinstance(current, UnetError):
            return current
        else:
            current = current.__cause__ or current.__context__
    return None


@contextlib.contextmanager
def connected_ray(address: str | None, what: str, say: Callable[[str], None],
                  log_to_driver: bool = True) -> Iterator[Any]:
    """The ray module, connected. Ray's own loggers at ERROR in every process (a monitor that
    wants the dashboard warns every second otherwise); `log_to_driver`: the workers' output
    reaches the driver's terminal (else it stays in Ray's session folder; their errors still
    come back as exceptions)."""
    ray = require("ray", what, extra="scale")
    if ray.is_initialized():
        yield ray
        return
    address = ray_address(address)
    started = time.monotonic()
    # "local": a Ray of this command's own, even where `ray start` left one running on the machine
    ray.init(address=address or "local", num_cpus=None if address else len(os.sched_getaffinity(0)),
             include_dashboard=False,
             log_to_driver=log_to_driver, logging_config=ray.LoggingConfig(log_level="ERROR"),
             runtime_env={"env_vars": WORKER_ENVIRONMENT})
    try:
        where = f"the Ray cluster at {address}" if address else "a local Ray"
        say(f"joined {where} ({int(ray.cluster_resources().get('CPU', 0))} CPUs) in {time.monotonic() - started:.1f} s")
        yield ray
    finally:
        ray.shutdown()  # a local Ray stops with it; a cluster's driver only leaves
