"""Use case: choose the pixel threshold and smallest defect area on the evaluation split."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import attrs
import numpy as np

from unet_defects.application.drift_recording import NO_HELD_OUT, DriftRecorder
from unet_defects.application.line_maps import LineMaps, evaluation_maps
from unet_defects.application.options import InferenceOptions
from unet_defects.application.ports import CalibrationStore, Components, DatasetReader, Evaluator
from unet_defects.application.session import BEST_KEPT, SessionOpener
from unet_defects.domain.calibration import (
    DEFAULT_MIN_AREAS,
    DEFAULT_THRESHOLDS,
    Calibration,
    CalibrationSearch,
    CandidateScores,
    capped,
    min_area_cap,
    search,
)
from unet_defects.domain.decision import Decision
from unet_defects.domain.errors import DataError
from unet_defects.domain.experiment import EvalSpec
from unet_defects.domain.gate import GateSearch, GateTable, area_bars, check_recall_target, search_gate
from unet_defects.domain.metrics import PartScores
from unet_defects.domain.part_score import part_score
from unet_defects.domain.training import RunSpec


@attrs.frozen
class CalibrationReport:
    # Each class's (calibration, search), in channel order (one for a one-class model).
    chosen: tuple[tuple[Calibration, CalibrationSearch], ...]
    num_images: int
    source: str  # which checkpoint, in words
    written: str
    # With a classifier head: each class's gate search, in channel order.
    gates: tuple[GateSearch, ...] = ()
    gate_decides: bool = False  # the gate is the part's verdict (model.decision_gate: classifier)
    drift: str = ""  # where the parts' scores went as the drift reference, or why they did not

    @property
    def calibration(self) -> Calibration:
        """The first class's calibration (a one-class model's only one)."""
        return self.chosen[0][0]

    @property
    def found(self) -> CalibrationSearch:
        return self.chosen[0][1]

    def summary(self) -> str:
        """The decisions chosen and their part-level scores on the calibration images, in one line."""
        lines = []
        for index, (calibration, found) in enumerate(self.chosen):
            decision = calibration.decision
            named = f"class {decision.class_id}: " if decision.class_id is not None else ""
            level: PartScores | CandidateScores  # the gate's scores, or the pixel pair's
            if self.gate_decides and index < len(self.gates):
                gate = self.gates[index].best
                verdict = ("the mask alone" if gate.gate.threshold == 0 else gate.gate.describe())
                level = gate.scores
            else:
                verdict, level = "the mask alone", found.best
            alarms = "" if level.false_alarm_rate is None else f", false alarms {level.false_alarm_rate:.3f}"
            lines.append(f"{named}threshold {decision.threshold:g}, min_area {decision.min_area}, part verdict by "
                         f"{verdict} (image recall {level.image_recall:.3f}{alarms}, image F1 {level.image_F1:.3f})")
        return "; ".join(lines)


class CalibrateUseCase:
    """Score every (threshold, min_area) pair on the evaluation images and keep the best.

    Each image is labelled once per threshold; the min_area candidates reuse those labels.
    Areas are in pixels of the images as evaluated: their own scale after crop training,
    else the training size (predict then scales min_area to each image's size).
    """

    def __init__(self, opener: SessionOpener, reader: DatasetReader, evaluator: Evaluator, components: Components,
                 store: CalibrationStore, evaluation: EvalSpec, run: RunSpec, line_maps: LineMaps | None = None,
                 drift: DriftRecorder | None = None, validation: bool = False) -> None:
        self._drift = drift  # the parts' scores and verdicts at the chosen decision: the drift reference's
        self._validation = validation  # the evaluation images are a validation part, not the test images
        self._line_maps = line_maps  # maps as predict makes them (the native geometry's tiles)
        self._opener = opener
        self._reader = reader
        self._evaluator = evaluator
        self._components = components
        self._store = store
        self._evaluation = evaluation
        self._run = run

    def execute(self, options: InferenceOptions = InferenceOptions(),
                thresholds: Sequence[float] = DEFAULT_THRESHOLDS, min_areas: Sequence[int] = DEFAULT_MIN_AREAS,
                progress: Callable[[int], None] | None = None, objective: str = "defect_Dice",
                image_recall: float | None = None) -> CalibrationReport:
        """`image_recall`: the part verdict with the fewest false alarms among those reaching this
        recall of defective parts (the classifier gate's, or without a head the pixel pair's);
        None: runconfig.image_recall, and when that is unset too the best image F1 (the gate), or
        `objective` (the pixel pair without a head)."""
        image_recall = self._run.image_recall if image_recall is None else image_recall
        check_recall_target(image_recall)
        thresholds = sorted({0.5, *(float(t) for t in thresholds)})
        session = self._opener.open(options, BEST_KEPT)
        source, tta = session.source, session.tta
        classes = tuple((d.class_id, d.name) for d in session.decisions)  # a one-class model's names none
        tables: list[dict[float, list]] = [{threshold: [] for threshold in thresholds} for _ in classes]
        true_areas: list[list[int]] = [[] for _ in classes]  # each class's true defect components
        classified: list = []  # per image: the classifier head's (K,) probabilities, with a head
        peaks: list[list[float]] = []  # per image: each class's largest probability (the part score's)
        count = 0
        stream, batches, ignored = self._reader.evaluation_stream(), self._run.eval_batches(), \
            self._evaluation.eval_ignore_classes
        maps = evaluation_maps(self._line_maps, self._evaluator, session, options, stream, batches, ignored)
        for found in maps:
            for channel, by_threshold in enumerate(tables):
                counted = found.counted[..., channel]
                truth, probabilities = found.truth[..., channel] & counted, found.probabilities[..., channel]
                true_areas[channel] += self._components.table(truth, truth).areas.tolist()
                for threshold in thresholds:
                    decision = (probabilities > np.float32(threshold)) & counted
                    by_threshold[threshold].append(self._components.table(decision, truth))
            if found.image_probabilities is not None:
                classified.append(found.image_probabilities)
            peaks.append([float(found.probabilities[..., k][found.counted[..., k]].max(initial=0.0))
                          for k in range(len(tables))])
            count += 1
            if progress:
                progress(count)
        if not count:
            raise DataError("calibrate: the evaluation split holds no images")
        native = session.mode == "native"
        chosen: list[tuple[Calibration, CalibrationSearch]] = []
        gates: list[GateSearch] = []
        flagged = np.zeros(count, bool)  # each part's verdict at the decisions chosen
        head = len(classified) == count
        by_gate = head and session.gated  # the gate is the part's verdict; else the mask is
        target = f"the fewest false alarms at image recall >= {image_recall:g}" if image_recall is not None else ""
        for k, ((class_id, name), by_threshold) in enumerate(zip(classes, tables)):
            cap = min_area_cap(true_areas[k])
            areas = capped(min_areas, cap)
            # Where the mask is the part's verdict (no head, or its gate only reported), the pixel pair takes the target.
            result = search(by_threshold, areas, objective, None if by_gate else image_recall)
            named = f"class {class_id}, " if class_id is not None else ""
            aim = target if target and not by_gate else f"maximizing {objective}"
            area_at = None if native else session.size
            decision = Decision(result.best.threshold, result.best.min_area, area_at, self._store.location,
                                class_id=class_id, name=name)
            calibration = Calibration(
                decision,
                chosen_on=f"{count} evaluation images, {named}{source}, tta {tta}, {aim}"
                          + (f"; the part verdict {target or 'maximizing image_F1'}" if by_gate else "")
                          + (f"; min_area at most {cap} px, the area a tenth of the {len(true_areas[k])} true "
                             "defects are under" if cap is not None and cap < max(min_areas, default=0) else ""),
                before=result.baseline, after=result.best,
            )
            if head:  # a classifier head: its gate, on the chosen pixel decision
                rows = [table.gate_row(result.best.min_area, float(image[k]))
                        for table, image in zip(by_threshold[result.best.threshold], classified)]
                # The gate is the part verdict: the best image F1 (then defect Dice), or the recall target.
                gates.append(search_gate(rows, area_bars(result.best.min_area, min_areas), objective="image_F1",
                                         image_recall=image_recall if by_gate else None))
                gate = attrs.evolve(gates[-1].best.gate, area_at=area_at)  # applied (the file's verdict)
                calibration = attrs.evolve(calibration, decision=attrs.evolve(decision, gate=gate, gated=True),
                                           gate_before=gates[-1].baseline.scores, gate_after=gates[-1].best.scores)
            flagged |= (GateTable.of(rows).flags(gates[-1].best.gate) if head and by_gate else
                        [table.counts(result.best.min_area)[3] for table in by_threshold[result.best.threshold]])
            chosen.append((calibration, result))
        written = self._store.save([calibration for calibration, _ in chosen],
                                   [[c.as_dict() for c in result.candidates] for _, result in chosen],
                                   [[c.as_dict() for c in found.candidates] for found in gates])
        drift = ""
        if self._drift is not None and not self._validation:
            drift = NO_HELD_OUT
        elif self._drift is not None:
            scores = [part_score(image, None if not head else [float(p) for p in classified[i]])
                      for i, image in enumerate(peaks)]
            drift = self._drift.scores_line(scores, flagged.tolist(), f"{count} calibration images ({source}), "
                                            "the decision chosen", "calibration")
        return CalibrationReport(chosen=tuple(chosen), num_images=count, source=source, written=written,
                                 gates=tuple(gates), gate_decides=by_gate, drift=drift)
