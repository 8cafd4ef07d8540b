"""Use case: export a trained model as a self-contained serving artifact."""

from __future__ import annotations

import attrs

from application.inference import Decision, calibrated, settle_decision
from application.ports import BestKeeper, CalibrationStore, Checkpoints, DatasetReader, Exporter, ModelBuilder
from application.restoring import restore_chosen
from application.values import EXPORT_FORMATS, ExportRequest
from domain import tta as augmentation
from domain.data import DataSpec
from domain.errors import ConfigError
from domain.masks import DecisionRule
from domain.tiling import mode_for_fit
from domain.topology import UNetSpec

INT8_FORMATS = ("onnx", "openvino", "tflite")


@attrs.frozen
class ExportReport:
    path: str
    step: int
    threshold: float
    source: str = ""  # which checkpoint, in words
    format: str = "savedmodel"
    int8: bool = False
    decision: str = ""
    tta: str = "none"


class ExportUseCase:
    """Restore the latest (or given) checkpoint and export it with its preprocessing, its
    decision (the model_dir's calibration unless flags say otherwise) and optional TTA."""

    def __init__(self, builder: ModelBuilder, checkpoints: Checkpoints, best: BestKeeper, exporter: Exporter,
                 topology: UNetSpec, data: DataSpec, rule: DecisionRule, calibration: CalibrationStore | None = None,
                 reader: DatasetReader | None = None) -> None:
        self._builder = builder
        self._checkpoints = checkpoints
        self._best = best
        self._exporter = exporter
        self._topology = topology
        self._data = data
        self._rule = rule
        self._calibration = calibration
        self._reader = reader

    def execute(self, output: str, checkpoint: str | None = None, threshold: float | None = None,
                geometry: str | None = None, format: str = "savedmodel", int8: bool = False, tta: str = "none",
                min_area: int | None = None, calibration_images: int = 64) -> ExportReport:
        """`resize` exports the squash-to-training-size preprocessing; `native` pads to the
        network's stride and runs the whole image at its own scale. Default: the training's."""
        if format not in EXPORT_FORMATS:
            raise ConfigError(f"--format: unknown {format!r}; expected one of: {', '.join(EXPORT_FORMATS)}")
        if int8 and format not in INT8_FORMATS:
            raise ConfigError(f"--int8: needs --format {', '.join(INT8_FORMATS)} (a SavedModel stays float)")
        augmentation.transforms(tta)
        if tta == "d4":
            augmentation.check_shape(tta, self._data.height, self._data.width)
        geometry = geometry or mode_for_fit(self._data.image_fit)
        decision = self._decision(threshold, min_area)
        model = self._builder.build(self._topology)
        restored, source = restore_chosen(self._checkpoints, self._best, model, checkpoint)
        request = ExportRequest(
            output=output, input_size=(self._data.height, self._data.width), normalization=self._data.normalization(),
            threshold=decision.threshold, step=restored.step,
            native_stride=self._topology.stride if geometry == "native" else None, stride=self._topology.stride,
            format=format, int8=int8, tta=tta, min_area=decision.min_area, area_at=decision.area_at,
            calibration_stream=self._reader.training_stream() if int8 and self._reader is not None else None,
            calibration_images=calibration_images,
        )
        path = self._exporter.export(model, request)
        return ExportReport(path=path, step=restored.step, threshold=decision.threshold, source=source, format=format,
                            int8=int8, decision=decision.describe(), tta=tta)

    def _decision(self, threshold: float | None, min_area: int | None) -> Decision:
        base = calibrated(self._rule.probability_cutoff, self._calibration)
        return settle_decision(base, threshold, min_area)
