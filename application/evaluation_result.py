"""What one evaluation found (results.json's figures), and the warnings of a collapsed model
or of a collapsed defect class."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import attrs

from unet_defects.application.values import BestCheckpoint, SamplePicture
from unet_defects.domain.defects import SIZE_BOUNDS_TEXT, DefectCounts
from unet_defects.domain.metrics import DefectBalance, Scores
from unet_defects.domain.operating_point import OperatingPoint
from unet_defects.domain.part_score import PEAK

if TYPE_CHECKING:  # the pictures' module reads this one
    from unet_defects.application.evaluation_pictures import EvaluationPictures


@attrs.frozen
class EvaluationResult:
    step: int
    scores: Scores
    num_images: int
    per_image_dice: tuple[float, ...]
    samples: tuple[SamplePicture, ...] = ()
    written: tuple[str, ...] = ()
    # (probability threshold, scores) for each of model.eval_thresholds.
    threshold_scores: tuple[tuple[float, Scores], ...] = ()
    checkpoint: str = ""  # the checkpoint scored
    balance: DefectBalance = DefectBalance(0.0, 0.0)
    warnings: tuple[str, ...] = ()
    best: BestCheckpoint | None = None  # the best checkpoint kept (runconfig.keep_best), when this one became it
    decision: str = ""  # the pixel decision scored, in words (threshold, min_area, where from)
    tta: str = "none"
    # eval: the evaluation images (no validation part); validation or test: that part.
    split: str = "eval"
    defects: DefectCounts | None = None  # defect-level counts, when scored in numpy
    # Each defect class's scores ((class id, name, scores), in channel order; `scores` is then
    # their mean) and the mean Dice over (image, class) pairs.
    per_class: tuple[tuple[int, str, Scores], ...] = ()
    class_balance: tuple[DefectBalance, ...] = ()  # each class's, in per_class's order
    kaggle_dice: float | None = None
    # With a classifier head: domain.gate.side_by_side, of the one class, or by class id.
    gate: dict | None = None
    score_name: str = PEAK  # what image_AUROC ranks parts by (domain.part_score)
    peak_auroc: float | None = None  # with a head: image_AUROC by the largest pixel probability, beside it
    operating_point: OperatingPoint | None = None  # the part verdicts (first rule) and the ranking
    # Per image, in reading order: the part score (None when the image has none), the truth
    # (a defect pixel in its mask) and the verdict at the decision in force; the curves and the
    # drift reference read them.
    part_scores: tuple[float | None, ...] = ()
    part_truth: tuple[bool, ...] = ()
    part_flagged: tuple[bool, ...] = ()
    # What the evaluation's pictures are drawn from (application.evaluation_pictures), not JSON.
    pictures: EvaluationPictures | None = attrs.field(default=None, eq=False, repr=False)

    def as_dict(self) -> dict:
        result = {**self.scores.as_dict(), "image_AUROC_score": self.score_name, "global_step": self.step,
                  "num_images": self.num_images, "checkpoint": self.checkpoint,
                  **balance_fields(self.balance), "decision": self.decision, "tta": self.tta,
                  "split": self.split}
        if self.defects is not None:
            result.update(self.defects.scores(), defect_sizes=SIZE_BOUNDS_TEXT)
        if self.threshold_scores:
            result["thresholds"] = {f"{t:g}": scores.as_dict() for t, scores in self.threshold_scores}
        if len(self.per_class) > 1:  # a one-class model's results name no class
            balances = self.class_balance or (None,) * len(self.per_class)  # a result built without them
            result["per_class"] = {str(k): {"name": name, **scores.as_dict(), **balance_fields(balance)}
                                   for (k, name, scores), balance in zip(self.per_class, balances)}
            result["kaggle_dice"] = self.kaggle_dice
        if self.gate is not None:
            result["gate"] = self.gate
        if self.score_name != PEAK:
            result[f"image_AUROC_{PEAK}"] = self.peak_auroc
        if self.operating_point is not None:
            result["operating_point"] = self.operating_point.as_dict()
            if self.scores.image_AUROC is None:  # say why there is no number
                result["image_AUROC_undefined"] = self.operating_point.why_no_ranking()
        return result


def collapse_warning(balance: DefectBalance) -> str:
    return (f"the model predicts almost no defect pixels ({100 * balance.predicted_fraction:.3f} % of the pixels "
            f"against {100 * balance.true_fraction:.3f} % in the truth): it has collapsed to background. Most likely "
            "to help: model.loss: bce_dice, train_input.image_fit: crop with train_input.defect_sampling: 0.5, "
            "and model.normalization: batch (configs/params_folder.yaml has all three)")


def balance_fields(balance: DefectBalance | None) -> dict:
    """results.json's defect shares and collapse flag, of the pooled model or of one class."""
    if balance is None:
        return {}
    return {"true_defect_fraction": balance.true_fraction, "predicted_defect_fraction": balance.predicted_fraction,
            "collapsed": balance.collapsed}


def class_collapse_warning(name: str, balance: DefectBalance, advice: Sequence[str]) -> str:
    """One class of several predicts (almost) none of its defects, whatever the pooled model does."""
    helps = f"; most likely to help: {', '.join(advice)}" if advice else ""
    return (f"class {name!r} predicts almost no defect pixels ({100 * balance.predicted_fraction:.3f} % against "
            f"{100 * balance.true_fraction:.3f} % in the truth): it has collapsed to background{helps}")


def collapse_warnings(balance: DefectBalance, per_class: Sequence[tuple[int, str, Scores]],
                      class_balance: Sequence[DefectBalance], class_advice: Sequence[str]) -> tuple[str, ...]:
    """The pooled model's collapse, then each collapsed class's (only with several: one class is the pooled model)."""
    pooled = (collapse_warning(balance),) if balance.collapsed else ()
    if len(per_class) < 2:
        return pooled
    return pooled + tuple(class_collapse_warning(name, found, class_advice)
                          for (_, name, _), found in zip(per_class, class_balance) if found.collapsed)
