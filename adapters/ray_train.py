"""Training on Ray Train: N workers that Ray places, wires into one cluster and restarts.

Ray's TensorflowTrainer starts the workers and writes each one's TF_CONFIG, the cluster
description today's multi-worker path reads (adapters/tensorflow/cluster.py); each worker then
runs the function it is given. When a worker dies, Ray restarts the whole group (FailureConfig)
and the project's training resumes from model_dir's newest checkpoint. Ray is imported here
only, when a run asks for it (the `scale` extra).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from unet_defects.adapters.ray_cluster import connected_ray, local_workers, ray_address
from unet_defects.adapters.runtimes.extras import require
from unet_defects.adapters.tensorflow.distribution import refuse_combinations
from unet_defects.domain.errors import ConfigError, UnetError
from unet_defects.domain.experiment import ExperimentSpec
from unet_defects.domain.invocation import Invocation

T = TypeVar("T")
WHAT = "unet run --ray"
# Worker-group restarts after a worker dies; each resumes from the newest checkpoint. A project
# error (bad data, a diverged loss) fails the same way each time, so a few are enough.
MAX_FAILURES = 2
RUN_FOLDER = ".ray_train"  # in model_dir


class RayTrainFailed(UnetError):
    """The worker group failed more often than MAX_FAILURES allows, not by a project error."""

    exit_status = 1


def refuse_on_ray(experiment: ExperimentSpec, invocation: Invocation) -> None:
    """What a run on Ray Train does not do, one line each; the driver checks before Ray starts."""
    refuse_combinations(experiment)
    if invocation.compile_kind is not None:
        raise ConfigError(f"--{invocation.compile_kind}_only: checks one process; run it without --ray")
    if invocation.mode != "train":
        raise ConfigError(f"runconfig.mode: only train runs on Ray Train, got {invocation.mode} (evaluating inside "
                          "a MultiWorkerMirroredStrategy cluster fails); pass -m train, then evaluate on one "
                          "machine with -m eval")
    if experiment.run.executor_name() != "tensorflow":
        raise ConfigError("runconfig.executor: Ray Train runs TensorFlow workers, not a Cerebras system; drop --cs_ip")
    if invocation.steps is not None:
        raise ConfigError("--steps: not combined with --ray (a restarted worker group would train that many "
                          "again); use --max_steps")
    if experiment.run.time_budget is not None:
        raise ConfigError("runconfig.time_budget: not combined with --ray yet (each worker's clock would stop it "
                          "at another step); use max_steps")


def _cause(failure: BaseException) -> BaseException:
    # Ray wraps a worker's exception with its traceback text; the project's error is inside.
    return getattr(failure, "_base_exc", failure)


def one_line(error: Exception) -> UnetError:
    """A failed run as one line: a worker's project error as itself, anything else (a worker
    killed, a bug) with the worker that had it."""
    failures = sorted(getattr(error, "worker_failures", {}).items())
    for _, failure in failures:
        if isinstance(_cause(failure), UnetError):
            return _cause(failure)
    rank, cause = (f"worker {failures[0][0]}", _cause(failures[0][1])) if failures else ("the controller", error)
    text = (str(cause).strip().splitlines() or [""])[0][:200]
    return RayTrainFailed(f"Ray Train: {rank} failed ({type(cause).__name__}: {text}); a rerun resumes from "
                          "model_dir's newest checkpoint")


class RayTrainRunner:
    """Runs `work` on `workers` Ray Train workers, one CPU (or GPU) each, and returns what the
    first (the chief) returned, on the Ray `ray_cluster.connected_ray` joins."""

    def __init__(self, address: str | None, workers: int, model_dir: str, say: Callable[[str], None]) -> None:
        self._address = ray_address(address)
        self._workers = workers
        self._model_dir = model_dir
        self._say = say

    def run(self, work: Callable[[], T]) -> T:
        local_workers(self._address, self._workers)
        train = require("ray.train", WHAT, extra="scale")
        tensorflow = require("ray.train.tensorflow", WHAT, extra="scale")
        with connected_ray(self._address, WHAT, self._say) as ray:
            cpus = int(ray.cluster_resources().get("CPU", 0))
            if cpus < self._workers:
                self._say(f"warning: {cpus} CPUs for {self._workers} workers: Ray waits for more nodes to join")
            # Ray Train's console at WARNING: TensorFlow's INFO lines and Ray's placement steps stay in
            # Ray's log files; a worker's error still shows (a restart then by the chief's first line).
            # Ray's run folder (a storage marker, no checkpoints: the project writes its own) goes with
            # the model on the shared storage, not into ~/ray_results on every run.
            run_config = train.RunConfig(name=RUN_FOLDER, storage_path=self._model_dir,
                                         failure_config=train.FailureConfig(max_failures=MAX_FAILURES),
                                         logging_config=train.LoggingConfig(log_level="WARNING"))
            trainer = tensorflow.TensorflowTrainer(
                work, scaling_config=train.ScalingConfig(num_workers=self._workers, use_gpu=self._use_gpu(ray)),
                run_config=run_config)
            try:
                return trainer.fit().return_value
            except train.TrainingFailedError as error:
                raise one_line(error) from None

    def _use_gpu(self, ray: Any) -> bool:
        """A GPU a worker when the cluster has one for each, else the CPUs."""
        return ray.cluster_resources().get("GPU", 0) >= self._workers
