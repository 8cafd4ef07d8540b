"""Fakes of the deployment-role ports (predictor, exporter, compiler, benchmarker, engine
timer), free of TensorFlow: they run the fake model of adapters.fakes.roles through its engine."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

import numpy as np

from unet_defects.adapters.fakes.roles import FakeModel
from unet_defects.application.ports import CompileJob
from unet_defects.application.values import BatchSpec, BenchmarkRun, CompileDetails, ExportRequest, TensorSpec


class FakePredictor:
    def __init__(self) -> None:
        self.tile_batches: list[tuple[int, ...]] = []  # shapes predict_tiles was called with

    def predict(self, engine: Any, images: Sequence[np.ndarray],
                        size: tuple[int, int]) -> tuple[list[np.ndarray], np.ndarray | None]:
        found = [engine.outputs(np.asarray(image)[None]) for image in images]
        heads = [image for _, image in found if image is not None]
        return [maps[0] for maps, _ in found], np.concatenate(heads) if heads else None

    def predict_tiles(self, engine: Any, tiles: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        self.tile_batches.append(tiles.shape)
        return engine.outputs(tiles)


class FakeExporter:
    def __init__(self) -> None:
        self.exports: dict[str, ExportRequest] = {}

    def export(self, model: FakeModel, request: ExportRequest) -> str:
        self.exports[request.output] = request
        return request.output


class FakeCompiler:
    def __init__(self, problems: Sequence[str] = ()) -> None:
        self.calls: list[tuple[str, CompileJob]] = []  # validate / compile calls
        self._problems = list(problems)

    def describe(self, stream: Any) -> BatchSpec:
        images, masks = next(iter(stream))
        return BatchSpec(TensorSpec(np.shape(images), str(np.asarray(images).dtype)),
                         TensorSpec(np.shape(masks), str(np.asarray(masks).dtype)))

    def validate(self, job: CompileJob) -> list[str]:
        self.calls.append(("validate", job))
        job.build_model()
        return list(self._problems)

    def compile(self, job: CompileJob) -> CompileDetails:
        self.calls.append(("compile", job))
        job.build_model()
        return CompileDetails(summary="compiled nothing (fake)", files=(f"{job.output}/hlo", f"{job.output}/report"))


class FakeBenchmarker:
    """Consumes the batches a real run would and reports `step_seconds` per measured step."""

    def __init__(self, step_seconds: float = 0.5) -> None:
        self.step_seconds = step_seconds
        self.batches_seen = 0

    def benchmark(self, model: FakeModel, stream: Any, kind: str, steps: int, warmup_steps: int) -> BenchmarkRun:
        iterator = itertools.cycle(stream) if isinstance(stream, list) else iter(stream)
        for _ in range(warmup_steps + steps):
            next(iterator)
            self.batches_seen += 1
        return BenchmarkRun(step_seconds=(self.step_seconds,) * steps, peak_memory_bytes=100 * 2**20,
                            device="fake", precision="float32", data_format="channels_last")


class FakeEngineTimer:
    """Calls the engine as the real timer does (`warmup_steps` then `steps` times on the batch)
    and reports `step_seconds` per measured step instead of reading a clock."""

    def __init__(self, step_seconds: float = 0.25, warmup_seconds: float = 1.0) -> None:
        self.step_seconds = step_seconds
        self.warmup_seconds = warmup_seconds
        self.timed: list[tuple[str, tuple[int, ...], int, int, str]] = []  # engine, batch shape, steps, warm-up, precision

    def time(self, engine: Any, batch: np.ndarray, steps: int, warmup_steps: int, precision: str) -> BenchmarkRun:
        self.timed.append((engine.name, np.shape(batch), steps, warmup_steps, precision))
        for _ in range(warmup_steps + steps):
            engine.outputs(batch)
        return BenchmarkRun(step_seconds=(self.step_seconds,) * steps, peak_memory_bytes=50 * 2**20,
                            device=f"{engine.name} on a fake clock", precision=precision, data_format="channels_last",
                            warmup_seconds=self.warmup_seconds if warmup_steps else 0.0)
