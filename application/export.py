"""Use case: export a trained model as a self-contained serving artifact."""

from __future__ import annotations

import attrs

from application.ports import BestKeeper, Checkpoints, Exporter, ModelBuilder
from application.restoring import restore_chosen
from application.values import ExportRequest
from domain.data import DataSpec
from domain.masks import DecisionRule
from domain.tiling import mode_for_fit
from domain.topology import UNetSpec


@attrs.frozen
class ExportReport:
    path: str
    step: int
    threshold: float
    source: str = ""  # which checkpoint, in words


class ExportUseCase:
    """Restore the latest (or given) checkpoint and export it with its preprocessing and rule."""

    def __init__(self, builder: ModelBuilder, checkpoints: Checkpoints, best: BestKeeper, exporter: Exporter,
                 topology: UNetSpec, data: DataSpec, rule: DecisionRule) -> None:
        self._builder = builder
        self._checkpoints = checkpoints
        self._best = best
        self._exporter = exporter
        self._topology = topology
        self._data = data
        self._rule = rule

    def execute(self, output: str, checkpoint: str | None = None, threshold: float | None = None,
                geometry: str | None = None) -> ExportReport:
        """`resize` exports the squash-to-training-size preprocessing; `native` pads to the
        network's stride and runs the whole image at its own scale. Default: the training's."""
        geometry = geometry or mode_for_fit(self._data.image_fit)
        rule = self._rule if threshold is None else DecisionRule(threshold=threshold)
        model = self._builder.build(self._topology)
        restored, source = restore_chosen(self._checkpoints, self._best, model, checkpoint)
        request = ExportRequest(
            output=output, input_size=(self._data.height, self._data.width), normalization=self._data.normalization(),
            threshold=rule.probability_cutoff, step=restored.step,
            native_stride=self._topology.stride if geometry == "native" else None,
        )
        path = self._exporter.export(model, request)
        return ExportReport(path=path, step=restored.step, threshold=rule.probability_cutoff, source=source)
