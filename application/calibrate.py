"""Use case: choose the pixel threshold and smallest defect area on the evaluation split."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import attrs
import numpy as np

from application.options import InferenceOptions
from application.ports import CalibrationStore, Components, DatasetReader, Evaluator
from application.session import BEST_KEPT, SessionOpener
from domain.calibration import DEFAULT_MIN_AREAS, DEFAULT_THRESHOLDS, Calibration, CalibrationSearch, search
from domain.errors import DataError
from domain.experiment import EvalSpec
from domain.training import RunSpec


@attrs.frozen
class CalibrationReport:
    calibration: Calibration
    found: CalibrationSearch
    num_images: int
    source: str  # which checkpoint, in words
    written: str


class CalibrateUseCase:
    """Score every (threshold, min_area) pair on the evaluation images and keep the best.

    Each image is labelled once per threshold; the min_area candidates reuse those labels.
    Areas are in pixels of the images as evaluated: their own scale after crop training,
    else the training size (predict then scales min_area to each image's size).
    """

    def __init__(self, opener: SessionOpener, reader: DatasetReader, evaluator: Evaluator, components: Components,
                 store: CalibrationStore, evaluation: EvalSpec, run: RunSpec) -> None:
        self._opener = opener
        self._reader = reader
        self._evaluator = evaluator
        self._components = components
        self._store = store
        self._evaluation = evaluation
        self._run = run

    def execute(self, options: InferenceOptions = InferenceOptions(),
                thresholds: Sequence[float] = DEFAULT_THRESHOLDS, min_areas: Sequence[int] = DEFAULT_MIN_AREAS,
                progress: Callable[[int], None] | None = None, objective: str = "defect_Dice") -> CalibrationReport:
        thresholds = sorted({0.5, *(float(t) for t in thresholds)})
        session = self._opener.open(options, BEST_KEPT)
        engine, source, tta = session.engine, session.source, session.tta
        tables: dict[float, list] = {threshold: [] for threshold in thresholds}
        count = 0
        maps = self._evaluator.maps(engine, self._reader.evaluation_stream(), self._run.eval_batches(),
                                    self._evaluation.eval_ignore_classes)
        for found in maps:
            truth = found.truth & found.counted
            for threshold in thresholds:
                decision = (found.probabilities > np.float32(threshold)) & found.counted
                tables[threshold].append(self._components.table(decision, truth))
            count += 1
            if progress:
                progress(count)
        if not count:
            raise DataError("calibrate: the evaluation split holds no images")
        result = search(tables, min_areas, objective)
        native = session.mode == "native"
        calibration = Calibration(
            threshold=result.best.threshold, min_area=result.best.min_area,
            area_at=None if native else session.size,
            chosen_on=f"{count} evaluation images, {source}, tta {tta}, maximizing {objective}",
            before=result.baseline, after=result.best,
        )
        written = self._store.save(calibration, [candidate.as_dict() for candidate in result.candidates])
        return CalibrationReport(calibration=calibration, found=result, num_images=count, source=source,
                                 written=written)
