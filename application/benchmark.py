"""Use case: benchmark training or inference throughput on the configured model."""

from __future__ import annotations

import math
import time
from collections.abc import Iterable, Iterator

import numpy as np

from unet_defects.application.options import InferenceOptions
from unet_defects.application.ports import Benchmarker, DatasetReader, EngineTimer, ModelBuilder
from unet_defects.application.session import SessionOpener
from unet_defects.domain.benchmark import BenchmarkReport, summarize
from unet_defects.domain.data import DataSpec
from unet_defects.domain.invocation import Invocation
from unet_defects.domain.topology import UNetSpec

KINDS = {"train_benchmark": "train", "inference_benchmark": "inference"}
DEFAULT_STEPS = 20
# A steady pipeline (the planner's timing): batches drawn before the timed steps, two epochs'
# worth or this many seconds, whichever ends first.
STEADY_EPOCHS, STEADY_SECONDS = 2, 30.0


def drawn_ahead(stream: Iterable, batches: int, seconds: float = STEADY_SECONDS) -> Iterator:
    """The stream's iterator after `batches` batches (or `seconds`) drawn without training: a
    training pipeline that caches its decoded images, and draws defect-centred crops from a
    second pass over them, decodes each image several times until its first pass ends and not
    after; a run's steps are at that steady state, so the planner times them there."""
    iterator = iter(stream)
    started = time.perf_counter()
    for _ in range(batches):
        if time.perf_counter() - started > seconds:
            break
        next(iterator)
    return iterator


class BenchmarkUseCase:
    """Measure images/s after warm-up steps (compilation included in the warm-up).

    The reader decides what is measured: in-memory random batches (compute only) or the
    configured dataset (compute plus input pipeline, `--with_input_pipeline`).
    """

    def __init__(
        self,
        builder: ModelBuilder,
        reader: DatasetReader,
        benchmarker: Benchmarker,
        topology: UNetSpec,
        data: DataSpec,
        invocation: Invocation,
        opener: SessionOpener | None = None,
        timer: EngineTimer | None = None,
        options: InferenceOptions = InferenceOptions(),
    ) -> None:
        self._builder = builder
        self._reader = reader
        self._benchmarker = benchmarker
        self._topology = topology
        self._data = data
        self._invocation = invocation
        self._opener = opener
        self._timer = timer
        self._options = options

    def execute(self, mode: str | None = None, steps: int | None = None,
                warmup_steps: int | None = None, steady_pipeline: bool = False) -> BenchmarkReport:
        """The mode, steps and warm-up of this call unless given; `steady_pipeline`: training's
        input pipeline run to its steady state before the steps (drawn_ahead)."""
        mode = mode or self._invocation.mode
        kind = KINDS[mode]
        steps = steps or self._invocation.steps or DEFAULT_STEPS
        warmup_steps = self._invocation.warmup_steps if warmup_steps is None else warmup_steps
        if kind == "inference" and (self._options.model is not None or self._options.tta not in (None, "none")):
            return self._engine_benchmark(mode, steps, warmup_steps)
        if kind == "train":
            stream, batch_size = self._reader.training_stream(), self._data.train_batch_size
            if steady_pipeline:
                stream = drawn_ahead(stream, math.ceil(STEADY_EPOCHS * self._reader.training_size() / batch_size))
            flops = self._topology.training_flops()
        else:
            stream, batch_size = self._reader.evaluation_stream(), self._data.eval_batch_size
            flops = self._topology.forward_flops()
        model = self._builder.build(self._topology)
        run = self._benchmarker.benchmark(model, stream, kind, steps, warmup_steps)
        return summarize(
            mode=mode, step_seconds=run.step_seconds, batch_size=batch_size, flops_per_image=flops,
            warmup_steps=warmup_steps, precision=run.precision, data_format=run.data_format,
            device=run.device, input_pipeline=self._invocation.with_input_pipeline,
            peak_memory_bytes=run.peak_memory_bytes, warmup_seconds=run.warmup_seconds,
        )

    def _engine_benchmark(self, mode: str, steps: int, warmup_steps: int) -> BenchmarkReport:
        """An export run by `--engine` (or the configured model with TTA) on random batches of
        its input size, one engine call per step (FLOPs: one pass of the configured topology)."""
        if self._opener is None or self._timer is None:
            raise ValueError("benchmarking an engine needs the session opener and timer adapters")
        session = self._opener.fresh(self._options)
        engine, size, channels, precision = session.engine, session.size, session.channels, session.precision
        batch_size = self._data.eval_batch_size
        batch = np.random.default_rng(0).random((batch_size, *size, channels), np.float32)
        run = self._timer.time(engine, batch, steps, warmup_steps, precision)
        return summarize(
            mode=mode, step_seconds=run.step_seconds, batch_size=batch_size,
            flops_per_image=self._topology.forward_flops(), warmup_steps=warmup_steps, precision=run.precision,
            data_format=run.data_format, device=run.device, input_pipeline=False,
            peak_memory_bytes=run.peak_memory_bytes, warmup_seconds=run.warmup_seconds,
        )
