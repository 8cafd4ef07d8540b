"""Scores per defect class from each image's per-class counts (a model of several classes)."""

from __future__ import annotations

from domain.class_scores import kaggle_dice, mean_scores
from domain.metrics import ConfusionMatrix, Scores


class ClassScoring:
    """Scores per defect class from each image's per-class counts (several classes)."""

    def __init__(self, classes: tuple[tuple[int, str], ...], by_class: list, class_peaks: list) -> None:
        if len(by_class[0]) != len(classes):
            raise ValueError(f"the model gives {len(by_class[0])} classes, the config names {len(classes)}")
        self._classes = classes
        self._by_class = by_class  # [image][class][rule]
        self._peaks = class_peaks  # [image][class]

    def images(self, klass: int, rule: int) -> list[ConfusionMatrix]:
        return [image[klass][rule] for image in self._by_class]

    def per_class(self, rule: int) -> tuple[tuple[int, str, Scores], ...]:
        return tuple((class_id, name, Scores.compute(sum(self.images(k, rule), ConfusionMatrix()), self.images(k, rule),
                                                     [peaks[k] for peaks in self._peaks]))
                     for k, (class_id, name) in enumerate(self._classes))

    def mean(self, rule: int) -> Scores:
        return mean_scores([scores for _, _, scores in self.per_class(rule)])

    def kaggle_dice(self) -> float:
        return kaggle_dice([self.images(k, 0) for k in range(len(self._classes))])
