"""What an evaluation's pictures are drawn from (eval/*.png): per image, each class's part score,
truth and verdict; each class's pixel histogram; the decision's thresholds; and the worst
images. A plain value, so a model_dir keeps it and `unet report` draws it again."""

from __future__ import annotations

from collections.abc import Sequence

import attrs
import numpy as np

from unet_defects.application.evaluation_result import EvaluationResult
from unet_defects.application.evaluation_tally import EvaluationTally
from unet_defects.application.worst_images import Tile, WorstImages
from unet_defects.domain.decision import Decision
from unet_defects.domain.gate import OPEN, Gate, GateTable
from unet_defects.domain.part_score import PEAK

# The pictures' file names, in each evaluation's folder (eval/, eval/test/).
PICTURE_FILES = ("pr_curves.png", "threshold_curves.png", "confusion.png", "worst_dice.png", "false_alarms.png")


@attrs.frozen(eq=False)
class PartColumn:
    """One class's figures over the images (or the part's, every class pooled)."""

    name: str
    scores: tuple[float | None, ...]  # the part score per image (None: that image has none)
    truth: tuple[bool, ...]  # a defect pixel of this class in the image's mask
    flagged: tuple[bool, ...]  # the verdict at the decision in force
    histogram: np.ndarray | None  # (2, bins): the counted pixels by probability, background then defect
    pixel_threshold: float | None  # the decision's probability threshold (None: classes differ)
    part_threshold: float | None  # where the verdict sits on the part score's axis (None: it does not)
    rule_flagged: tuple[bool, ...] = ()  # with a classifier head: the segmentation rule's verdict alone
    gate_flagged: tuple[bool, ...] = ()  # and the classifier gate's, applied or not
    # (tp, fp, fn) defect pixels at the decision in force (after min_area and the gate), pooled
    pixel_counts: tuple[int, int, int] = (0, 0, 0)


@attrs.frozen(eq=False)
class EvaluationPictures:
    split: str  # eval, validation or test
    step: int
    score_name: str  # what the part score is (domain.part_score)
    decision: str  # the decision scored, in words
    part: PartColumn
    classes: tuple[PartColumn, ...] = ()  # each class's, with several
    worst_dice: tuple[Tile, ...] = ()
    false_alarms: tuple[Tile, ...] = ()
    gated: bool = False  # the classifier gate decides (else the rule does, and the gate is shown beside it)

    @property
    def title(self) -> str:
        split = {"eval": "evaluation"}.get(self.split, self.split)
        return f"{split} images, step {self.step}"


def _part_threshold(decision: Decision, score_name: str) -> float | None:
    """Where the verdict sits on the part score's axis: an applied gate's threshold on the head's
    probability; the probability threshold when the score is the largest probability (a part is
    flagged above it, min_area permitting); else nowhere."""
    gate = decision.gate
    if decision.gated and gate is not None and gate.threshold != OPEN:
        return gate.threshold
    return decision.threshold if score_name == PEAK else None


def _shared(values: Sequence[float | None]) -> float | None:
    return values[0] if values and len(set(values)) == 1 else None


def picture_inputs(result: EvaluationResult, tally: EvaluationTally, decisions: Sequence[Decision],
                   worst: WorstImages, image_names: Sequence[str] = ()) -> EvaluationPictures:
    """The pictures' inputs of an evaluation: its result's per-image part figures, the tally's
    per-class ones and pixel histograms, the decisions in force and the worst images kept."""
    names = [name for _, name, _ in result.per_class] or ["defect"]
    # one decision may hold for every class (the config's rule)
    columns = [_class_column(tally, k, name, decisions[min(k, len(decisions) - 1)], result.score_name)
               for k, name in enumerate(names)]
    gated = any(d.gated for d in decisions)

    def pooled(verdicts: list[tuple[bool, ...]]) -> tuple[bool, ...]:  # a part is flagged when a class is
        return tuple(any(flags) for flags in zip(*verdicts)) if all(verdicts) else ()

    counts = tuple(sum(column.pixel_counts[i] for column in columns) for i in range(3))
    part = PartColumn(
        name="every class" if len(columns) > 1 else columns[0].name, scores=result.part_scores,
        truth=result.part_truth, flagged=result.part_flagged,
        histogram=None if tally.histograms is None else tally.histograms.sum(axis=0),
        pixel_threshold=_shared([column.pixel_threshold for column in columns]),
        part_threshold=_shared([column.part_threshold for column in columns]),
        rule_flagged=pooled([column.rule_flagged for column in columns]),
        gate_flagged=result.part_flagged if gated and columns[0].gate_flagged else
        pooled([column.gate_flagged for column in columns]),
        pixel_counts=(counts[0], counts[1], counts[2]))
    return EvaluationPictures(split=result.split, step=result.step, score_name=result.score_name,
                              decision=result.decision, part=part, classes=tuple(columns) if len(columns) > 1 else (),
                              worst_dice=worst.by_dice(image_names), false_alarms=worst.false_alarms(image_names),
                              gated=gated)


def _class_column(tally: EvaluationTally, k: int, name: str, decision: Decision, score_name: str) -> PartColumn:
    counts = [image[k][0] for image in tally.class_counts]
    flagged = tuple(image[k][0] for image in tally.class_flagged) if all(tally.class_flagged) else \
        tuple(cm.tp + cm.fp > 0 for cm in counts)
    rows = GateTable.of([image[k] for image in tally.gate_rows]) if tally.gate_rows and all(tally.gate_rows) else None
    if rows is None:
        rule: tuple[bool, ...] = ()
        gate: tuple[bool, ...] = ()
    else:  # the gate in force is the verdicts themselves (its area bar scaled to each image)
        rule = tuple(bool(v) for v in rows.flags(Gate(OPEN)))
        gate = flagged if decision.gated else tuple(bool(v) for v in rows.flags(decision.gate or Gate()))
    return PartColumn(
        name=name, scores=tuple(scores[k] for scores in tally.class_scores),
        truth=tuple(cm.tp + cm.fn > 0 for cm in counts), flagged=flagged,
        histogram=None if tally.histograms is None else tally.histograms[k],
        pixel_threshold=decision.threshold, part_threshold=_part_threshold(decision, score_name),
        rule_flagged=rule, gate_flagged=gate,
        pixel_counts=(sum(cm.tp for cm in counts), sum(cm.fp for cm in counts), sum(cm.fn for cm in counts)))
