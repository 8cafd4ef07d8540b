"""The composition root: resolved specs -> adapters -> use cases (dependency-injector).

Build it from a YAML file or a plain mapping, override any adapter (tests swap in fakes,
services their own dataset reader), then ask it for a use case:

    container = build_container({"train_input": {...}, "runconfig": {...}})
    container.dataset.override(providers.Object(MyReader()))
    container.train().execute()
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Mapping
from typing import Any

from dependency_injector import containers, providers

from adapters.artifacts import FileArtifactStore, FileImageSource
from adapters.report_chart import MatplotlibRenderer, TensorBoardHistory
from adapters.terminal import TerminalObserver
from application.benchmark import BenchmarkUseCase
from application.compilation import CompileUseCase
from application.conversion import WriteRecordsUseCase
from application.evaluation import EvaluateAllUseCase, EvaluateUseCase
from application.export import ExportUseCase
from application.prediction import PredictUseCase
from application.report import ReportUseCase
from application.training import TrainAndEvaluateUseCase, TrainUseCase
from configs.loader import load_experiment
from domain.errors import ConfigError
from domain.experiment import ExperimentSpec

log = logging.getLogger("unet")


def _strategy(experiment: ExperimentSpec):
    from adapters.tensorflow.distribution import make_strategy

    return make_strategy(experiment)


def _device_plan(experiment: ExperimentSpec, strategy: Any = None):
    # `strategy` only orders creation: MultiWorkerMirroredStrategy must exist before devices are listed.
    from adapters.tensorflow.device import plan_device

    plan = plan_device(experiment.precision, experiment.model.data_format)
    for note in plan.notes:
        log.info("%s", note)
    return plan


def _dagm_reader(experiment: ExperimentSpec):
    from adapters.datasets.dagm import open_dagm

    return open_dagm(
        experiment.data, experiment.eval_data, experiment.run.tf_random_seed,
        progress=lambda text: log.info("generating the synthetic dataset: %s", text),
        augmentation=experiment.augmentation, stride=experiment.model.stride,
    )


def _severstal_reader(experiment: ExperimentSpec):
    from adapters.datasets.severstal import open_severstal

    return open_severstal(experiment.data, experiment.eval_data, experiment.run.tf_random_seed,
                          experiment.augmentation, experiment.model.stride)


def _image_folder_reader(experiment: ExperimentSpec):
    from adapters.datasets.image_folder import open_image_folder

    return open_image_folder(experiment.data, experiment.eval_data, experiment.run.tf_random_seed,
                             experiment.augmentation, experiment.model.stride)


def _tfrecords_reader(experiment: ExperimentSpec):
    from adapters.datasets.tfrecords import TfRecordsReader

    mask_method = "nearest" if experiment.data.dataset.startswith("Severstal") else "bilinear"
    return TfRecordsReader(experiment.data.dataset, experiment.data, experiment.eval_data,
                           experiment.run.tf_random_seed, experiment.augmentation, mask_method)


def _records_writer(experiment: ExperimentSpec):
    from adapters.datasets.tfrecords import TfRecordsWriter

    folder = experiment.data.dataset == "ImageFolderDataset"
    return TfRecordsWriter(float(experiment.data.mask_threshold) if folder else None)


def _source(experiment: ExperimentSpec) -> dict:
    from configs.loader import to_mapping

    return to_mapping(experiment)


def _external():
    raise ConfigError(
        "train_input.dataset: 'external' means your code supplies the reader: "
        "container.dataset.override(providers.Object(your_reader))"
    )


def _random_batches(experiment: ExperimentSpec):
    from adapters.datasets.random_batches import RandomBatchReader

    return RandomBatchReader(experiment.data, seed=experiment.run.tf_random_seed or 0)


def _builder(experiment: ExperimentSpec, plan) -> Any:
    from adapters.tensorflow.builder import KerasUNetBuilder

    return KerasUNetBuilder(plan.policy, plan.data_format, experiment.run.tf_random_seed)


def _executor(experiment: ExperimentSpec, plan, strategy: Any = None) -> Any:
    from adapters.tensorflow.executor import TensorFlowExecutor

    return TensorFlowExecutor(
        experiment.run, experiment.optimizer, plan,
        normalization=experiment.eval_data.normalization(),
        batch_size=experiment.data.train_batch_size,
        image_summaries=experiment.evaluation.log_image_summaries,
        loss=experiment.loss, strategy=strategy,
    )


def _cerebras(experiment: ExperimentSpec, dataset: Any) -> Any:
    from adapters.cerebras.executor import CerebrasExecutor
    from adapters.tensorflow.builder import KerasUNetBuilder

    # The system computes in float16 (or cbfloat16) under mixed precision, in the layout as written.
    policy = "mixed_float16" if experiment.precision.mixed_precision else "float32"
    builder = KerasUNetBuilder(policy, experiment.model.data_format, experiment.run.tf_random_seed)
    return CerebrasExecutor(experiment, builder, dataset)


class Container(containers.DeclarativeContainer):
    experiment = providers.Dependency(instance_of=ExperimentSpec)

    strategy = providers.Singleton(_strategy, experiment)
    device_plan = providers.Singleton(_device_plan, experiment, strategy)
    builder = providers.Singleton(_builder, experiment, device_plan)
    executor = providers.Singleton(_executor, experiment, device_plan, strategy)
    dataset = providers.Selector(
        providers.Callable(lambda e: e.data.dataset, experiment),
        external=providers.Callable(_external),
        DAGM2007Dataset=providers.Singleton(_dagm_reader, experiment),
        DAGM2007TFRecordsDataset=providers.Singleton(_tfrecords_reader, experiment),
        SeverstalDataset=providers.Singleton(_severstal_reader, experiment),
        ImageFolderDataset=providers.Singleton(_image_folder_reader, experiment),
        SeverstalTFRecordsDataset=providers.Singleton(_tfrecords_reader, experiment),
        TFRecordsDataset=providers.Singleton(_tfrecords_reader, experiment),
    )
    observer = providers.Singleton(TerminalObserver)
    artifacts = providers.Singleton(
        FileArtifactStore, experiment.provided.run.model_dir, experiment.provided.evaluation.log_image_summaries
    )
    images = providers.Singleton(FileImageSource)

    train = providers.Factory(
        TrainUseCase, builder, dataset, executor, observer,
        experiment.provided.model, experiment.provided.run,
    )
    evaluate = providers.Singleton(
        EvaluateUseCase, builder, dataset, executor, artifacts,
        experiment.provided.model, experiment.provided.evaluation, experiment.provided.run,
    )
    evaluate_all = providers.Factory(EvaluateAllUseCase, evaluate, executor)
    train_and_evaluate = providers.Factory(TrainAndEvaluateUseCase, train, evaluate)
    random_batches = providers.Singleton(_random_batches, experiment)
    benchmark = providers.Factory(
        BenchmarkUseCase, builder, random_batches, executor, experiment.provided.model,
        experiment.provided.data, input_pipeline=False,
    )
    benchmark_with_input_pipeline = providers.Factory(
        BenchmarkUseCase, builder, dataset, executor, experiment.provided.model,
        experiment.provided.data, input_pipeline=True,
    )
    export = providers.Factory(
        ExportUseCase, builder, executor, experiment.provided.model, experiment.provided.eval_data,
        experiment.provided.evaluation.rule,
    )
    predict = providers.Factory(
        PredictUseCase, builder, executor, images, artifacts,
        experiment.provided.model, experiment.provided.eval_data,
        experiment.provided.evaluation.rule,
    )
    cerebras = providers.Factory(_cerebras, experiment, dataset)
    compile = providers.Factory(
        CompileUseCase, builder, dataset, executor, experiment.provided.model, experiment.provided.data,
        device_plan.provided.policy, experiment.provided.run.model_dir,
    )
    write_records = providers.Factory(
        WriteRecordsUseCase, dataset, providers.Singleton(_records_writer, experiment), experiment.provided.data,
        providers.Callable(_source, experiment),
    )
    history = providers.Factory(TensorBoardHistory, experiment.provided.run.model_dir)
    renderer = providers.Singleton(MatplotlibRenderer)
    report = providers.Factory(ReportUseCase, history, renderer, experiment.provided.run.model_dir)


def build_container(
    source: str | os.PathLike | Mapping[str, Any] | ExperimentSpec | None = None,
    runconfig: Mapping[str, Any] | None = None,
    overrides: Iterable[str] = (),
) -> Container:
    """A container from a YAML path, a mapping of sections, or resolved specs."""
    experiment = source if isinstance(source, ExperimentSpec) else load_experiment(source, runconfig, overrides)
    return Container(experiment=experiment)
