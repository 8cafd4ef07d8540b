"""Use case: export a trained model as a self-contained serving artifact."""

from __future__ import annotations

from collections.abc import Sequence

import attrs

from unet_defects.application.drift_ports import DriftReferenceStore
from unet_defects.application.options import InferenceOptions
from unet_defects.application.ports import DatasetReader, Exporter
from unet_defects.application.prediction import describe_decisions
from unet_defects.application.session import BEST_KEPT, SessionOpener
from unet_defects.application.tracking import NO_TRACKING, RunTracker
from unet_defects.application.values import ExportRequest
from unet_defects.domain import tta as augmentation
from unet_defects.domain.errors import ConfigError, DataError
from unet_defects.domain.validation import check_model_name


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
    drift_reference: bool = False  # the model_dir's drift reference went into the manifest
    drift_warning: str = ""  # why it did not, when the model_dir's could not be read or copied


class ExportUseCase:
    """Restore the latest (or given) checkpoint and export it with its preprocessing, its
    decision (the model_dir's calibration unless flags say otherwise) and optional TTA.
    `formats` are the export formats there are, `int8_formats` those that quantize to INT8
    (None: none does, --int8 is refused). A tracked model_dir's run gets the export's folder."""

    def __init__(self, opener: SessionOpener, exporter: Exporter, formats: Sequence[str],
                 reader: DatasetReader | None = None, int8_formats: Sequence[str] | None = None,
                 tracker: RunTracker = NO_TRACKING, drift: DriftReferenceStore | None = None) -> None:
        self._drift = drift
        self._tracker = tracker
        self._opener = opener
        self._exporter = exporter
        self._formats = tuple(formats)
        self._int8_formats = tuple(int8_formats or ())
        self._reader = reader

    def execute(self, output: str, options: InferenceOptions = InferenceOptions(), format: str = "savedmodel",
                int8: bool = False, calibration_images: int = 64, name: str = "unet",
                max_batch: int = 8) -> ExportReport:
        """`resize` exports the squash-to-training-size preprocessing; `native` pads to the
        network's stride and runs the whole image at its own scale. Default: the training's.
        `options.tta` is built into the exported network."""
        if format not in self._formats:
            raise ConfigError(f"--format: unknown {format!r}; expected one of: {', '.join(self._formats)}")
        if int8 and format not in self._int8_formats:
            needs = f"needs --format {', '.join(self._int8_formats)}" if self._int8_formats else \
                "no format quantizes here"
            raise ConfigError(f"--int8: {needs} (a SavedModel stays float)")
        check_model_name(name)
        if max_batch < 1:
            raise ConfigError(f"--max_batch: must be 1 or more, got {max_batch}")
        if options.model is not None:
            raise ConfigError("--model: unet export exports a model_dir's checkpoint, not an export")
        tta = self._opener.tta_for(options)  # the flag, else the model's own: built into the network
        session = self._opener.open(attrs.evolve(options, tta="none"), BEST_KEPT)
        if tta == "d4":
            augmentation.check_shape(tta, *session.size)
        geometry = options.geometry or session.mode
        decision = session.decision
        request = ExportRequest(
            output=output, input_size=session.size, normalization=session.normalization,
            decisions=session.decisions, step=session.step,
            native_stride=session.stride if geometry == "native" else None, stride=session.stride,
            format=format, int8=int8, tta=tta,
            calibration_stream=self._reader.training_stream() if int8 and self._reader is not None else None,
            calibration_images=calibration_images, name=name, max_batch=max_batch,
            class_id=session.class_id,
        )
        path = self._exporter.export(session.model, request)
        carried, warning = False, ""
        if self._drift is not None:
            try:  # the export is written: a reference that cannot be carried leaves it without one
                carried = self._drift.carry(path)
            except (DataError, OSError) as error:
                warning = f"warning: the export holds no drift reference ({error})"
        self._tracker.log_files([path], "export")
        return ExportReport(path=path, step=session.step, threshold=decision.threshold, source=session.source,
                            format=format, int8=int8, decision=describe_decisions(session), tta=tta,
                            drift_reference=carried, drift_warning=warning)
