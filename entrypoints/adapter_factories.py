"""Which adapter each role of the container gets, and how it is made from the specs; each
returns the port its role is. Every adapter is imported inside its factory, so that a command loads only the frameworks it uses
(the CLI starts without TensorFlow, `pytest tests/unit` runs with it unimportable)."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

from unet_defects.application.drift_ports import DriftReferenceStore, TrainingImages
from unet_defects.application.info import MachineProbe
from unet_defects.application.options import InferenceOptions
from unet_defects.application.ports import (
    Benchmarker,
    BestKeeper,
    CalibrationStore,
    Checkpoints,
    Compiler,
    Components,
    Engines,
    EngineTimer,
    Evaluator,
    Exporter,
    ModelBuilder,
    Predictor,
    SampleSource,
    Trainer,
)
from unet_defects.application.tracking import NO_TRACKING, RunTracker
from unet_defects.domain.experiment import ExperimentSpec
from unet_defects.domain.invocation import Invocation
from unet_defects.domain.plan_record import PlanRecord

log = logging.getLogger("unet")
EXPORT_POLICY = "float32"  # what exports compute in (see exporter)


def strategy(experiment: ExperimentSpec):
    from unet_defects.adapters.tensorflow.distribution import make_strategy

    return make_strategy(experiment)


def device_plan(experiment: ExperimentSpec, strategy: Any = None):
    # `strategy` only orders creation: MultiWorkerMirroredStrategy must exist before devices are listed.
    from unet_defects.adapters.tensorflow.device import plan_device

    plan = plan_device(experiment.precision, experiment.model.data_format)
    for note in plan.notes:
        log.info("%s", note)
    return plan


def cerebras_plan(experiment: ExperimentSpec):
    from unet_defects.adapters.tensorflow.device import DevicePlan

    # The system computes in float16 (or cbfloat16) under mixed precision, in the layout as written.
    policy = "mixed_float16" if experiment.precision.mixed_precision else "float32"
    return DevicePlan(device="Cerebras", policy=policy, data_format=experiment.model.data_format)


def machine_memory() -> int:
    """Bytes of memory on this machine (physical pages x page size)."""
    import os

    return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")


def check_fits(experiment: ExperimentSpec) -> None:
    """A training batch that cannot fit this machine's memory fails here, in one line, before
    anything is built or costed (training and compiling only: inference needs far less)."""
    from unet_defects.domain.errors import ConfigError

    problem = experiment.memory_problem(machine_memory())
    if problem is not None:
        raise ConfigError(problem)


def builder(experiment: ExperimentSpec, plan, policy: str | None = None) -> ModelBuilder:
    from unet_defects.adapters.tensorflow.builder import KerasUNetBuilder

    return KerasUNetBuilder(policy or plan.policy, plan.data_format, experiment.run.tf_random_seed,
                            normalization=experiment.data.normalization())


def best_keeper(experiment: ExperimentSpec) -> BestKeeper:
    from unet_defects.adapters.best_checkpoint import FileBestKeeper

    return FileBestKeeper(experiment.run.model_dir)


def checkpoints(experiment: ExperimentSpec) -> Checkpoints:
    from unet_defects.adapters.tensorflow.checkpoints import TensorFlowCheckpoints

    return TensorFlowCheckpoints(experiment.run.model_dir)


def trainer(experiment: ExperimentSpec, invocation: Invocation, plan, strategy: Any = None,
            tracker: RunTracker = NO_TRACKING) -> Trainer:
    check_fits(experiment)
    from unet_defects.adapters.tensorflow.trainer import TensorFlowTrainer

    return TensorFlowTrainer(
        experiment.run, experiment.optimizer, plan, experiment.loss,
        normalization=experiment.eval_data.normalization(), batch_size=experiment.data.train_batch_size,
        image_summaries=experiment.evaluation.log_image_summaries, strategy=strategy,
        device=invocation.device, warm_start=invocation.checkpoint_path, jit=experiment.xla_training()[0],
        freeze_encoder_steps=experiment.model.freeze_encoder_steps, tracker=tracker,
    )


def cerebras_trainer(experiment: ExperimentSpec, invocation: Invocation, checkpoints) -> Trainer:
    from unet_defects.adapters.cerebras.trainer import CerebrasTrainer

    return CerebrasTrainer(experiment, checkpoints, warm_start=invocation.checkpoint_path)


def compiler(experiment: ExperimentSpec, invocation: Invocation, plan) -> Compiler:
    check_fits(experiment)
    from unet_defects.adapters.tensorflow.compiler import TensorFlowCompiler

    return TensorFlowCompiler(experiment.optimizer, experiment.loss, plan, experiment.data.train_batch_size,
                              device=invocation.device)


def cerebras_compiler(experiment: ExperimentSpec, invocation: Invocation) -> Compiler:
    from unet_defects.adapters.cerebras.compiler import CerebrasCompiler

    return CerebrasCompiler(experiment, warm_start=invocation.checkpoint_path)


def evaluator(experiment: ExperimentSpec, invocation: Invocation) -> Evaluator:
    from unet_defects.adapters.tensorflow.evaluator import TensorFlowEvaluator

    return TensorFlowEvaluator(experiment.eval_data.normalization(), device=invocation.device)


def predictor() -> Predictor:
    from unet_defects.adapters.tensorflow.predictor import TensorFlowPredictor

    return TensorFlowPredictor()


def engines(invocation: Invocation) -> Engines:
    from unet_defects.adapters.runtimes.registry import EngineRegistry

    return EngineRegistry(device=invocation.device)


def components() -> Components:
    from unet_defects.adapters.components import ScipyComponents

    return ScipyComponents()


def engine_timer() -> EngineTimer:
    from unet_defects.adapters.engine_timer import EngineTimer

    return EngineTimer()


def drift_references(experiment: ExperimentSpec, options: InferenceOptions) -> DriftReferenceStore:
    from unet_defects.adapters.drift_files import FileDriftReferences

    return FileDriftReferences(experiment.run.model_dir, export=options.model)


def training_images(source: SampleSource | None) -> TrainingImages:
    from unet_defects.adapters.drift_files import FileTrainingImages

    return FileTrainingImages(source)


def calibration_store(experiment: ExperimentSpec) -> CalibrationStore:
    from unet_defects.adapters.calibration_file import JsonCalibrationStore

    return JsonCalibrationStore(experiment.run.model_dir)


def exporter() -> Exporter:
    from unet_defects.adapters.tensorflow.exporter import TensorFlowExporter

    # Exports compute in float32: the converters (TFLite above all) take no bfloat16 kernels,
    # and the CPU runtimes choose their own precision. The checkpoint's weights are float32.
    return TensorFlowExporter(EXPORT_POLICY)


def export_formats() -> tuple[str, ...]:
    from unet_defects.adapters.runtimes.catalog import ALL_EXPORT_FORMATS

    return ALL_EXPORT_FORMATS


def int8_formats() -> tuple[str, ...]:
    from unet_defects.adapters.runtimes.catalog import INT8_FORMATS

    return INT8_FORMATS


def tracker(experiment: ExperimentSpec, uri: str | None) -> RunTracker:
    """MLflow at `uri`, from the chief alone in a multi-worker run (the workers train the same
    run); without a URI nothing, and MLflow is not imported."""
    run = experiment.run
    if not uri:
        return NO_TRACKING
    # A worker of a multi-worker cluster has a TF_CONFIG; a command that does not train (an export,
    # an evaluation of a model trained on Ray, whose params.yaml keeps multiple_workers) has none.
    if run.enable_distributed and run.multiple_workers and "TF_CONFIG" in os.environ:
        from unet_defects.adapters.tensorflow.cluster import read_tf_config

        if read_tf_config("runconfig.multiple_workers").index != 0:
            return NO_TRACKING
    from unet_defects.adapters.mlflow_tracking import MlflowTracker

    return MlflowTracker(uri, run.model_dir)


def run_outputs(experiment: ExperimentSpec, params_file: str = "") -> tuple[tuple[str, str], ...]:
    """(file, folder in the tracked run) of what a run leaves, logged at its end when there:
    params.yaml (configs/store.py), results.json and results.csv (adapters/artifacts.py),
    calibration.json, report.png (`unet report`), the drift reference, the evaluation's pictures
    (the test images' in pictures/test), and the plan file the run was started from, with its reasons."""
    from unet_defects.adapters.calibration_file import FILE_NAME as CALIBRATION_FILE
    from unet_defects.adapters.drift_files import REFERENCE_FILE
    from unet_defects.application.evaluation_pictures import PICTURE_FILES
    from unet_defects.configs.store import PARAMS_FILE

    model_dir = Path(experiment.run.model_dir)
    evaluation = model_dir / "eval"
    files = [(model_dir / PARAMS_FILE, ""), (evaluation / "results.json", ""), (evaluation / "results.csv", ""),
             (model_dir / CALIBRATION_FILE, ""), (model_dir / "report.png", ""), (model_dir / REFERENCE_FILE, "")]
    files += [(folder / name, tracked) for folder, tracked in ((evaluation, "pictures"),
                                                                (evaluation / "test", "pictures/test"))
              for name in PICTURE_FILES]
    if params_file and experiment.plan != PlanRecord():
        files.append((Path(params_file), "plan"))
    return tuple((str(path), folder) for path, folder in files)


def machine_probe() -> MachineProbe:
    from unet_defects.adapters.tensorflow.machine import TensorFlowMachineProbe

    return TensorFlowMachineProbe()


def benchmarker(experiment: ExperimentSpec, invocation: Invocation, plan) -> Benchmarker:
    from unet_defects.adapters.tensorflow.benchmarker import TensorFlowBenchmarker

    return TensorFlowBenchmarker(experiment.optimizer, experiment.loss, plan, experiment.run.steps_per_call,
                                 device=invocation.device, jit=experiment.xla_training()[0])
