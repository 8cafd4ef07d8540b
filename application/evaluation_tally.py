"""What an evaluation gathers over its images: each rule's counts and part verdicts, the part
scores and the largest pixel probabilities, per class, and the gate's rows; and the scores
computed from them (each class's, and their mean) and each class's defect balance."""

from __future__ import annotations

import attrs
import numpy as np

from unet_defects.application.values import ImageEvaluation
from unet_defects.domain.class_scores import kaggle_dice, mean_scores
from unet_defects.domain.metrics import ConfusionMatrix, DefectBalance, Scores, image_auroc
from unet_defects.domain.operating_point import OperatingPoint

# The image-level fields of Scores: the part's, not averaged over classes.
PART_FIELDS = tuple(name for name in attrs.fields_dict(Scores) if name.startswith("image_"))


def _every_one(values: list[float | None]) -> list[float] | None:
    """The values when every image has one, else None."""
    defined = [value for value in values if value is not None]
    return defined if len(defined) == len(values) else None


@attrs.define
class EvaluationTally:
    rules: int
    counts: list[list[ConfusionMatrix]] = attrs.field(factory=list)  # [rule][image], pooled over classes
    flagged: list[list[bool]] = attrs.field(factory=list)  # [rule][image]
    scores: list[float | None] = attrs.field(factory=list)  # the part score per image
    peaks: list[float | None] = attrs.field(factory=list)  # the largest pixel probability per image
    class_counts: list[tuple[tuple[ConfusionMatrix, ...], ...]] = attrs.field(factory=list)  # [image][class][rule]
    class_flagged: list[tuple[tuple[bool, ...], ...]] = attrs.field(factory=list)  # [image][class][rule]
    class_scores: list[tuple[float, ...]] = attrs.field(factory=list)  # [image][class]
    class_peaks: list[tuple[float, ...]] = attrs.field(factory=list)  # [image][class]
    gate_rows: list[tuple] = attrs.field(factory=list)  # [image][class], with a classifier head
    # (K, 2, bins): each class's counted pixels by probability bin, summed (None: an image had none)
    histograms: np.ndarray | None = None
    _unbinned: bool = False

    def __attrs_post_init__(self) -> None:
        self.counts = [[] for _ in range(self.rules)]
        self.flagged = [[] for _ in range(self.rules)]

    def add(self, image: ImageEvaluation) -> None:
        for rule, counts in enumerate(image.counts):
            self.counts[rule].append(counts)
            self.flagged[rule].append(image.defective(rule))
        self.scores.append(image.part_score)
        self.peaks.append(image.peak)
        self.class_counts.append(image.class_counts)
        self.class_flagged.append(image.class_flagged)
        self.class_scores.append(image.class_scores or image.class_peaks)
        self.class_peaks.append(image.class_peaks)
        self.gate_rows.append(image.gate_rows)
        if image.class_histograms is None or self._unbinned:
            self._unbinned, self.histograms = True, None
        else:
            self.histograms = image.class_histograms + (0 if self.histograms is None else self.histograms)

    @property
    def images(self) -> int:
        return len(self.scores)

    def defective(self) -> list[bool]:
        """Each image's truth: a defect pixel in its mask (any class)."""
        return [cm.tp + cm.fn > 0 for cm in self.counts[0]]

    def rule_scores(self, rule: int) -> Scores:
        """The pooled scores under a rule, AUROC by the part score."""
        counts = self.counts[rule]
        return Scores.compute(sum(counts, ConfusionMatrix()), counts, _every_one(self.scores), self.flagged[rule])

    def peak_auroc(self) -> float | None:
        """image_AUROC by the largest pixel probability, for comparison with the part score's."""
        peaks = _every_one(self.peaks)
        return None if peaks is None else image_auroc(peaks, self.defective())

    def operating_point(self) -> OperatingPoint:
        """The part verdicts of the first rule against the truth, and the ranking by the part score."""
        return OperatingPoint.of(self.defective(), self.flagged[0], _every_one(self.scores))


class ClassScoring:
    """Scores per defect class from each image's per-class counts, and their mean (for one class,
    exactly the class's own scores)."""

    def __init__(self, classes: tuple[tuple[int, str], ...], tally: EvaluationTally) -> None:
        if tally.class_counts and len(tally.class_counts[0]) != len(classes):
            raise ValueError(f"the model gives {len(tally.class_counts[0])} classes, the config names {len(classes)}")
        self._classes = classes
        self._tally = tally

    def images(self, klass: int, rule: int) -> list[ConfusionMatrix]:
        return [image[klass][rule] for image in self._tally.class_counts]

    def _flagged(self, klass: int, rule: int) -> list[bool] | None:
        flags = self._tally.class_flagged
        return [image[klass][rule] for image in flags] if all(flags) else None

    def per_class(self, rule: int) -> tuple[tuple[int, str, Scores], ...]:
        return tuple((class_id, name, self._class_scores(k, rule)) for k, (class_id, name) in enumerate(self._classes))

    def _class_scores(self, klass: int, rule: int) -> Scores:
        counts = self.images(klass, rule)
        return Scores.compute(sum(counts, ConfusionMatrix()), counts, [scores[klass] for scores in self._tally.class_scores],
                              self._flagged(klass, rule))

    def mean(self, rule: int, per_class: tuple[tuple[int, str, Scores], ...] | None = None,
             balances: tuple[DefectBalance, ...] | None = None) -> Scores:
        """The pixel scores' means over the classes (`per_class`: the rule's, when the caller has
        them already); the image scores the part's, as the line decides and ranks it: defective
        when any class flags it, ranked by the part score (its highest class score), so
        image_AUROC ranks by predict's `score`."""
        scored = per_class or self.per_class(rule)
        # a class with no defect pixel in these images would score 1 by predicting nothing: it
        # joins the mean only when no class has one
        present = [scores for (_, _, scores), balance in zip(scored, balances or self.balances(rule))
                   if balance.has_defects]
        means = mean_scores(present or [scores for _, _, scores in scored])
        part = self._tally.rule_scores(rule)
        return attrs.evolve(means, **{name: getattr(part, name) for name in PART_FIELDS})

    def balances(self, rule: int = 0) -> tuple[DefectBalance, ...]:
        """Each class's true and predicted defect shares, from the counts its scores come from
        (so a class that predicts nothing is named collapsed by the pooled rule)."""
        return tuple(DefectBalance.of(sum(self.images(k, rule), ConfusionMatrix())) for k in range(len(self._classes)))

    def kaggle_dice(self) -> float:
        return kaggle_dice([self.images(k, 0) for k in range(len(self._classes))])
