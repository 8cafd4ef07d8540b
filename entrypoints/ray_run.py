"""`unet run --ray [ADDRESS] --workers N`: the same training on N Ray Train workers.

The driver resolves the configuration and refuses what Ray does not run (one line, exit 2, before
Ray starts). Each worker then runs `unet run`'s training use case with runconfig.multiple_workers
on and the TF_CONFIG Ray wrote: one MultiWorkerMirroredStrategy cluster whose chief writes the
checkpoints and summaries to model_dir (shared storage). The chief's outcome comes back to the
driver, which prints it as `unet run` does.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import json
import logging
import os
from collections.abc import Mapping
from pathlib import Path

import attrs

from unet_defects.application.values import TrainOutcome
from unet_defects.domain.errors import ConfigError, UnetError

log = logging.getLogger("unet")

# What makes the configuration a multi-worker run; Ray supplies the TF_CONFIG it reads.
MULTI_WORKER = {"enable_distributed": True, "multiple_workers": True}


@attrs.frozen
class RayTrainSpec:
    """What a worker needs to build the driver's configuration. Ray sends it to every worker with
    the function (pickled), so it stays small: paths and flags, not specs."""

    params: str | None  # absolute: a worker starts in a folder of Ray's
    runconfig: Mapping  # the CLI's runconfig values and MULTI_WORKER
    overrides: tuple[str, ...]  # --set, then the absolute model_dir
    cwd: str  # the driver's folder: relative dataset paths are read from it where it exists
    debug: bool = False

    def container(self):
        from unet_defects.container import build_container

        return build_container(self.params, self.runconfig, self.overrides)


def train_worker(spec: RayTrainSpec) -> TrainOutcome:
    """One Ray Train worker: `unet run`'s training; the chief logs as the CLI does, the others
    their warnings only."""
    from unet_defects.adapters.tensorflow.cluster import read_tf_config
    from unet_defects.cli import setup_logging

    os.environ.pop("TF_USE_LEGACY_KERAS", None)  # Ray's backend asks for Keras 2; the project uses Keras 3
    with contextlib.suppress(OSError):
        os.chdir(spec.cwd)
    setup_logging(spec.debug)
    logging.getLogger().setLevel(logging.WARNING)  # Ray Train sets INFO; TensorFlow's INFO lines stay out, as in `unet run`
    if read_tf_config("runconfig.multiple_workers").index:
        log.setLevel(logging.WARNING)
    try:
        container = spec.container()
        work = container.train()  # built first, as `unet run` does: the strategy before the tracked run reads the GPUs
        return container.tracked_run().execute(work.execute)  # the chief's MLflow run; the others track nothing
    except UnetError as error:
        raise error.with_traceback(None)  # Ray logs the traceback it gets: a project error's is one frame


def train_on_ray(spec: RayTrainSpec, address: str | None, workers: int) -> TrainOutcome:
    """Check the configuration here, then train it on `workers` Ray workers; the chief's outcome."""
    from unet_defects.adapters.ray_train import RayTrainRunner, refuse_on_ray

    container = spec.container()
    experiment = container.experiment()
    refuse_on_ray(experiment, container.invocation())
    # The same shared folder whatever a worker's folder; last, so that it wins over a --set too.
    model_dir = Path(experiment.run.model_dir).absolute()
    spec = attrs.evolve(spec, overrides=(*spec.overrides, f"runconfig.model_dir={json.dumps(str(model_dir))}"))
    log.info("mode train on Ray Train, workers %d, model_dir %s, params %s", workers, model_dir,
             spec.params or "built-in demo preset")
    runner = RayTrainRunner(address, workers, str(model_dir), say=lambda text: log.info("%s", text))
    return runner.run(functools.partial(train_worker, spec))


def command_run_on_ray(args: argparse.Namespace, runconfig: Mapping) -> int:
    """`unet run` with --ray or --workers: the flags to a spec, the chief's outcome printed."""
    from unet_defects.reporting import print_training

    if args.ray is None:
        raise ConfigError("--workers: needs --ray [ADDRESS], the Ray cluster the workers run on")
    workers = 1 if args.workers is None else args.workers
    if workers < 1:
        raise ConfigError(f"--workers: must be at least 1, got {workers}")
    spec = RayTrainSpec(params=str(Path(args.params).absolute()) if args.params else None,
                        runconfig={**runconfig, **MULTI_WORKER}, overrides=tuple(args.set), cwd=os.getcwd(),
                        debug=args.debug)
    print_training(train_on_ray(spec, args.ray or None, workers))
    return 0
