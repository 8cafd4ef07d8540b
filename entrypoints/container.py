"""The composition root: resolved specs -> adapters -> use cases (dependency-injector).

Build it from a YAML file or a plain mapping, override any adapter (tests swap in fakes,
services their own dataset reader), then ask it for a use case:

    container = build_container({"train_input": {...}, "runconfig": {...}})
    container.dataset.override(providers.Object(MyReader()))
    container.train().execute()

`runconfig.executor` (or --cs_ip) selects the trainer and compiler: TensorFlow on this
machine's CPU/GPU, or a Cerebras system; every other role runs on TensorFlow.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from typing import Any

from dependency_injector import containers, providers

from unet_defects import adapter_factories as make
from unet_defects import readers
from unet_defects.adapters.annotation_exports.proposals import ProposalFiles
from unet_defects.adapters.artifacts import FileArtifactStore
from unet_defects.adapters.image_files import FileImageSource
from unet_defects.adapters.picture_files import FilePictureWriter
from unet_defects.adapters.prediction_shards import FilePredictionShards
from unet_defects.adapters.ray_data import RayDataRunner
from unet_defects.adapters.report_chart import MatplotlibRenderer, TensorBoardHistory
from unet_defects.adapters.report_html import HtmlPageWriter
from unet_defects.adapters.review_files import ReviewFiles
from unet_defects.adapters.run_files import ModelDirFiles
from unet_defects.adapters.terminal import TerminalObserver
from unet_defects.application.archive import ArchivePredictUseCase
from unet_defects.application.batching import ProbabilityMaps
from unet_defects.application.benchmark import BenchmarkUseCase
from unet_defects.application.calibrate import CalibrateUseCase
from unet_defects.application.compilation import CompileUseCase
from unet_defects.application.conversion import WriteRecordsUseCase
from unet_defects.application.drift_recording import DriftRecorder
from unet_defects.application.evaluation import (
    EvaluateAllUseCase,
    EvaluateSplitsUseCase,
    EvaluateUseCase,
    FinalEvaluationUseCase,
)
from unet_defects.application.evaluation_scoring import EvaluationScoring
from unet_defects.application.export import ExportUseCase
from unet_defects.application.info import InfoUseCase
from unet_defects.application.inspector import InspectionPipeline, InspectUseCase
from unet_defects.application.line_maps import LineMaps
from unet_defects.application.options import InferenceOptions
from unet_defects.application.prediction import PredictUseCase
from unet_defects.application.report import ReportUseCase
from unet_defects.application.report_page import ReportPageUseCase
from unet_defects.application.review import ReviewUseCase
from unet_defects.application.session import BEST_KEPT, InferenceSession, SessionOpener
from unet_defects.application.tracking import TrackedRun
from unet_defects.application.training import TrainAndEvaluateUseCase, TrainUseCase
from unet_defects.configs.loader import load_config, to_mapping
from unet_defects.configs.store import ParamsFile
from unet_defects.domain.advice import advice_for, class_advice_for
from unet_defects.domain.experiment import ExperimentSpec
from unet_defects.domain.invocation import Invocation


def _opened_session(opener: SessionOpener, options: InferenceOptions, check_input: bool) -> InferenceSession:
    """The options' model (the best kept checkpoint, else the newest; or an export). `check_input`:
    the configuration is the model's own, so an export must take images as it says."""
    return opener.open(options, BEST_KEPT, check_input=check_input)


class Container(containers.DeclarativeContainer):
    experiment = providers.Dependency(instance_of=ExperimentSpec)
    invocation = providers.Dependency(instance_of=Invocation, default=Invocation())
    options = providers.Dependency(instance_of=InferenceOptions, default=InferenceOptions())
    params_file = providers.Dependency(instance_of=str, default="")  # the YAML file read, "" for a mapping

    executor_kind = providers.Callable(lambda experiment: experiment.run.executor_name(), experiment=experiment)
    strategy = providers.Singleton(make.strategy, experiment=experiment)
    device_plan = providers.Selector(
        executor_kind,
        tensorflow=providers.Singleton(make.device_plan, experiment=experiment, strategy=strategy),
        cerebras=providers.Singleton(make.cerebras_plan, experiment=experiment),
    )
    builder = providers.Singleton(make.builder, experiment=experiment, plan=device_plan)
    # The reader of train_input.dataset's layout (domain/layouts.py, entrypoints/readers.py).
    dataset = providers.Singleton(readers.reader_for, experiment=experiment)
    # The image files behind the dataset, for the TFRecords writer: none unless it reads files.
    sample_source = providers.Selector(
        providers.Callable(readers.sample_source, experiment=experiment),
        files=dataset,
        none=providers.Object(None),
    )
    random_batches = providers.Singleton(readers.random_batches, experiment=experiment)
    benchmark_reader = providers.Selector(
        providers.Callable(lambda invocation: "dataset" if invocation.with_input_pipeline else "random",
                           invocation=invocation),
        dataset=dataset,
        random=random_batches,
    )

    checkpoints = providers.Singleton(make.checkpoints, experiment=experiment)
    best_keeper = providers.Singleton(make.best_keeper, experiment=experiment)
    # runconfig.tracking_uri (`unet export --tracking_uri` overrides it): MLflow, else nothing.
    tracking_uri = providers.Callable(lambda experiment: experiment.run.tracking_uri, experiment=experiment)
    tracker = providers.Singleton(make.tracker, experiment=experiment, uri=tracking_uri)
    trainer = providers.Selector(
        executor_kind,
        tensorflow=providers.Singleton(make.trainer, experiment=experiment, invocation=invocation, plan=device_plan,
                                       strategy=strategy, tracker=tracker),
        cerebras=providers.Singleton(make.cerebras_trainer, experiment=experiment, invocation=invocation,
                                     checkpoints=checkpoints),
    )
    compiler = providers.Selector(
        executor_kind,
        tensorflow=providers.Singleton(make.compiler, experiment=experiment, invocation=invocation, plan=device_plan),
        cerebras=providers.Singleton(make.cerebras_compiler, experiment=experiment, invocation=invocation),
    )
    evaluator = providers.Singleton(make.evaluator, experiment=experiment, invocation=invocation)
    predictor = providers.Singleton(make.predictor)
    engines = providers.Singleton(make.engines, invocation=invocation)
    components = providers.Singleton(make.components)
    calibration_store = providers.Singleton(make.calibration_store, experiment=experiment)
    exporter = providers.Singleton(make.exporter)
    export_builder = providers.Singleton(make.builder, experiment=experiment, plan=device_plan,
                                         policy=make.EXPORT_POLICY)
    benchmarker = providers.Singleton(make.benchmarker, experiment=experiment, invocation=invocation, plan=device_plan)

    observer = providers.Singleton(TerminalObserver)
    config_store = providers.Singleton(ParamsFile, model_dir=experiment.provided.run.model_dir)
    artifacts = providers.Singleton(
        FileArtifactStore, model_dir=experiment.provided.run.model_dir,
        image_summaries=experiment.provided.evaluation.log_image_summaries,
    )
    images = providers.Singleton(FileImageSource)
    proposals = providers.Object(ProposalFiles)  # the model's proposals as COCO or LabelMe files
    history = providers.Factory(TensorBoardHistory, model_dir=experiment.provided.run.model_dir)
    pictures = providers.Singleton(FilePictureWriter, model_dir=experiment.provided.run.model_dir)
    renderer = providers.Singleton(MatplotlibRenderer)
    records_writer = providers.Singleton(readers.records_writer, experiment=experiment)

    # The inference session's opener, wired once. A run's evaluations, calibrate and predict
    # share one (the network is built and restored once); export opens its own float32 build.
    session_openers: providers.Factory[SessionOpener] = providers.Factory(
        SessionOpener, builder=builder, checkpoints=checkpoints, best=best_keeper, engines=engines,
        topology=experiment.provided.model, data=experiment.provided.eval_data, rule=experiment.provided.evaluation.rule,
        calibration=calibration_store, precision=device_plan.provided.policy,
        gate=experiment.provided.evaluation.decision_gate, tta=experiment.provided.evaluation.inference_tta,
    )
    session_opener: providers.Singleton[SessionOpener] = providers.Singleton(session_openers)
    export_session_opener: providers.Singleton[SessionOpener] = providers.Singleton(
        session_openers, builder=export_builder, precision=make.EXPORT_POLICY)
    probability_maps: providers.Factory[ProbabilityMaps] = providers.Factory(ProbabilityMaps, predictor=predictor)
    line_maps: providers.Factory[LineMaps] = providers.Factory(LineMaps, evaluator=evaluator, maps=probability_maps)
    # The one inspection path: unet predict feeds it files, the Inspector (and the server) arrays.
    inspection_pipeline: providers.Factory[InspectionPipeline] = providers.Factory(
        InspectionPipeline, maps=probability_maps, components=components,
    )
    inspection_session = providers.Factory(_opened_session, opener=session_opener, options=options, check_input=True)
    # Drift on the line: the model's reference (the model_dir's file, or an export's manifest
    # copy); training writes its inputs' half, the held-out evaluation or calibrate its scores'.
    drift_references = providers.Singleton(make.drift_references, experiment=experiment, options=options)
    drift_recorder: providers.Factory[DriftRecorder] = providers.Factory(
        DriftRecorder, store=drift_references, images=providers.Singleton(make.training_images, source=sample_source),
    )
    inspect: providers.Factory[InspectUseCase] = providers.Factory(
        InspectUseCase, session=inspection_session, pipeline=inspection_pipeline, options=options,
        references=drift_references,
    )

    train: providers.Factory[TrainUseCase] = providers.Factory(
        TrainUseCase, builder=builder, reader=dataset, checkpoints=checkpoints, trainer=trainer, observer=observer,
        config_store=config_store, experiment=experiment, invocation=invocation, drift=drift_recorder,
    )
    evaluation_scoring: providers.Factory[EvaluationScoring] = providers.Factory(
        EvaluationScoring, reader=dataset, evaluator=evaluator, evaluation=experiment.provided.evaluation,
        run=experiment.provided.run, components=components, options=options, line_maps=line_maps,
    )
    # A validation part apart from the test images: only it may choose, calibrate, or be a reference.
    has_validation = providers.Callable(lambda experiment: experiment.data.validation_split is not None,
                                        experiment=experiment)
    evaluate: providers.Singleton[EvaluateUseCase] = providers.Singleton(
        EvaluateUseCase, opener=session_opener, scoring=evaluation_scoring, checkpoints=checkpoints,
        artifacts=artifacts, evaluation=experiment.provided.evaluation, run=experiment.provided.run,
        invocation=invocation, best=best_keeper, components=components, options=options,
        validation=has_validation,
        classes=providers.Callable(lambda experiment: tuple(zip(experiment.data.classes, experiment.data.class_names)),
                                   experiment=experiment),
        class_advice=providers.Callable(class_advice_for, experiment=experiment),
        curve_is_sample=experiment.provided.data.curve_is_sample, tracker=tracker, pictures=pictures,
    )
    final_evaluation: providers.Factory[FinalEvaluationUseCase] = providers.Factory(
        FinalEvaluationUseCase, evaluate=evaluate, best=best_keeper, artifacts=artifacts,
    )
    evaluate_splits: providers.Factory[EvaluateSplitsUseCase] = providers.Factory(
        EvaluateSplitsUseCase, evaluate=evaluate, final=final_evaluation,
    )
    calibrate: providers.Factory[CalibrateUseCase] = providers.Factory(
        CalibrateUseCase, opener=session_opener, reader=dataset, evaluator=evaluator, components=components,
        store=calibration_store, evaluation=experiment.provided.evaluation, run=experiment.provided.run,
        line_maps=line_maps, drift=drift_recorder,
        validation=has_validation,
    )
    evaluate_all: providers.Factory[EvaluateAllUseCase] = providers.Factory(
        EvaluateAllUseCase, evaluate=evaluate, checkpoints=checkpoints,
    )
    train_and_evaluate: providers.Factory[TrainAndEvaluateUseCase] = providers.Factory(
        TrainAndEvaluateUseCase, train=train, evaluate=evaluate, checkpoints=checkpoints, observer=observer,
        advice=providers.Callable(advice_for, experiment=experiment), final=final_evaluation,
        calibrate=providers.Callable(lambda experiment, use_case: use_case if experiment.run.calibrate else None,
                                     experiment=experiment, use_case=calibrate),
        drift=drift_recorder,
    )
    benchmark: providers.Factory[BenchmarkUseCase] = providers.Factory(
        BenchmarkUseCase, builder=builder, reader=benchmark_reader, benchmarker=benchmarker,
        topology=experiment.provided.model, data=experiment.provided.data, invocation=invocation,
        opener=session_opener, timer=providers.Singleton(make.engine_timer), options=options,
    )
    compile: providers.Factory[CompileUseCase] = providers.Factory(
        CompileUseCase, builder=builder, dataset=dataset, compiler=compiler, topology=experiment.provided.model,
        data=experiment.provided.data, precision=device_plan.provided.policy,
        model_dir=experiment.provided.run.model_dir, invocation=invocation,
    )
    export: providers.Factory[ExportUseCase] = providers.Factory(
        ExportUseCase, opener=export_session_opener, exporter=exporter, formats=providers.Callable(make.export_formats),
        reader=dataset, int8_formats=providers.Callable(make.int8_formats), tracker=tracker, drift=drift_references,
    )
    predict: providers.Factory[PredictUseCase] = providers.Factory(
        PredictUseCase, opener=session_opener, pipeline=inspection_pipeline, images=images, artifacts=artifacts,
        data=experiment.provided.eval_data, proposals=proposals,
    )
    review: providers.Factory[ReviewUseCase] = providers.Factory(
        ReviewUseCase, opener=session_opener, pipeline=inspection_pipeline, images=images, artifacts=artifacts,
        proposals=proposals, writer=providers.Singleton(ReviewFiles),
    )
    # An archive on Ray Data: a local Ray unless the caller gives a runner with an address.
    archive: providers.Factory[ArchivePredictUseCase] = providers.Factory(
        ArchivePredictUseCase, opener=session_opener, images=images, artifacts=artifacts,
        shards=providers.Singleton(FilePredictionShards), runner=providers.Factory(RayDataRunner),
    )
    write_records: providers.Factory[WriteRecordsUseCase] = providers.Factory(
        WriteRecordsUseCase, samples=sample_source, writer=records_writer, data=experiment.provided.data,
        source=providers.Callable(to_mapping, spec=experiment),
    )
    report: providers.Factory[ReportUseCase] = providers.Factory(
        ReportUseCase, history=history, renderer=renderer, model_dir=experiment.provided.run.model_dir,
        pictures=pictures,
    )
    # report.html: the run on one self-contained page (unet report).
    report_page: providers.Factory[ReportPageUseCase] = providers.Factory(
        ReportPageUseCase, files=providers.Factory(ModelDirFiles, model_dir=experiment.provided.run.model_dir),
        writer=providers.Singleton(HtmlPageWriter), experiment=experiment,
    )
    machine_probe = providers.Singleton(make.machine_probe)
    info: providers.Factory[InfoUseCase] = providers.Factory(InfoUseCase, probe=machine_probe)
    # A command inside the model_dir's tracked run: `unet run`'s modes (with the machine) and `unet
    # export` (without: it may run elsewhere). Use cases called without one track nothing.
    tracked_run: providers.Factory[TrackedRun] = providers.Factory(
        TrackedRun, tracker=tracker, params=providers.Callable(to_mapping, spec=experiment),
        outputs=providers.Callable(make.run_outputs, experiment=experiment, params_file=params_file),
        probe=machine_probe, report=report.provided.execute,
    )
    tracked_export: providers.Factory[TrackedRun] = providers.Factory(
        TrackedRun, tracker=tracker, params=providers.Callable(to_mapping, spec=experiment), keeps_status=True,
    )


def build_container(
    source: str | os.PathLike | Mapping[str, Any] | ExperimentSpec | None = None,
    runconfig: Mapping[str, Any] | None = None,
    overrides: Iterable[str] = (),
    invocation: Invocation | None = None,
    options: InferenceOptions | None = None,
) -> Container:
    """A container from a YAML path, a mapping of sections, or resolved specs. `runconfig`
    holds the CLI's runconfig values, configuration and this call's flags alike; `options`
    what inference runs (engine, export, TTA, decision, geometry)."""
    options = options or InferenceOptions()
    if isinstance(source, ExperimentSpec):
        return Container(experiment=source, invocation=invocation or Invocation(), options=options)
    experiment, loaded = load_config(source, runconfig, overrides)
    return Container(experiment=experiment, invocation=invocation or loaded, options=options,
                     params_file=str(source) if isinstance(source, (str, os.PathLike)) else "")
