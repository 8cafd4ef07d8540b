"""Is the model learning? One line per evaluation during training, and the rule that says when
it is not learning yet.

Chance, for the two scores the line shows:
- image AUROC 0.5: the image's largest probability says nothing about whether it is defective.
- defect Dice at the true defect share f: a model that marks each pixel defect with probability
  f, whatever it sees, expects Dice 2 f^2 / (f + f) = f.
A model is "not learning yet" when its last two evaluations both sit at chance by either score:
AUROC within AUROC_MARGIN of 0.5, or Dice below DICE_FACTOR times the chance Dice.
"""

from __future__ import annotations

from collections.abc import Sequence

import attrs

AUROC_MARGIN = 0.05
DICE_FACTOR = 2.0
# How many evaluations in a row at chance make "not learning yet" (one could be early noise).
STAYS = 2


@attrs.frozen
class LearningPoint:
    step: int
    defect_dice: float
    image_auroc: float | None
    true_fraction: float  # the defect share of the evaluated pixels
    # with several classes, each class's (name, defect Dice): a class that does not learn shows
    class_dice: tuple[tuple[str, float | None], ...] = ()  # None: no defect of the class in these images
    images: int = 0  # the images the evaluation scored
    seconds: float | None = None  # and how long it took, when timed

    @property
    def chance_dice(self) -> float:
        return self.true_fraction


def _change(now: float | None, before: float | None) -> str:
    if now is None or before is None:
        return ""
    return f" ({now - before:+.3f})"


def learning_line(split: str, point: LearningPoint, previous: LearningPoint | None = None) -> str:
    """`validation at step 500: defect Dice 0.231 (+0.052), image AUROC 0.812 (+0.040)`; with
    several classes the Dice is their mean, each class's after it (`(Crack 0.00, Hole 0.46)`)."""
    before = previous or LearningPoint(0, float("nan"), None, 0.0)
    dice = f"defect Dice {point.defect_dice:.3f}" + (_change(point.defect_dice, before.defect_dice)
                                                      if previous else "")
    if len(point.class_dice) > 1:
        dice += " (" + ", ".join(f"{name} {'n/a' if value is None else f'{value:.2f}'}"
                                 for name, value in point.class_dice) + ")"
    auroc = ("image AUROC n/a (one kind of image)" if point.image_auroc is None else
             f"image AUROC {point.image_auroc:.3f}" + _change(point.image_auroc, before.image_auroc))
    took = "" if point.seconds is None else f" ({point.images} images in {point.seconds:.1f} s)"
    return f"{split} at step {point.step}: {dice}, {auroc}{took}"


def at_chance(point: LearningPoint) -> list[str]:
    """Which scores of one evaluation sit at chance, in words."""
    found = []
    if point.image_auroc is not None and abs(point.image_auroc - 0.5) < AUROC_MARGIN:
        found.append(f"image AUROC {point.image_auroc:.3f} is within {AUROC_MARGIN} of 0.5")
    if point.true_fraction > 0 and point.defect_dice < DICE_FACTOR * point.chance_dice:
        found.append(f"defect Dice {point.defect_dice:.3f} is below {DICE_FACTOR:g} x the {point.chance_dice:.3f} "
                     "that marking pixels at random scores")
    return found


def not_learning(points: Sequence[LearningPoint]) -> str | None:
    """Why the model is not learning yet, when its last STAYS evaluations sat at chance; else None."""
    if len(points) < STAYS:
        return None
    recent = [at_chance(point) for point in points[-STAYS:]]
    if not all(recent):
        return None
    return "; ".join(recent[-1])
