"""The planner's rule for the part's verdict: a classifier head where the training images hold
good parts to learn it from, its probability the part score and its gate the verdict
(domain.gate); none, with the reason written, where every part (or nearly) is defective."""

from __future__ import annotations

from unet_defects.domain.fingerprint import DatasetFingerprint
from unet_defects.domain.planning_choice import Choice

# At least this share of the training images, and this many, are good parts: a fifth of them land
# in the validation part, where the verdict is calibrated.
MIN_GOOD_SHARE = 0.05
MIN_GOOD_IMAGES = 20
CLASSIFIER_LOSS_WEIGHT = 1.0


def good_parts(fp: DatasetFingerprint) -> tuple[int, str]:
    """The fewest training images a verdict can learn "good" from, and of what: with several types,
    the images lacking the most common type (each type's verdict learns from the images without
    it); else the defect-free images."""
    if fp.several_classes:
        common = max(fp.classes, key=lambda c: c.images)
        return fp.images - common.images, f"images without {common.name}, the most common type"
    return fp.images - fp.defective_images, "good parts"


def part_verdict(fp: DatasetFingerprint) -> tuple[Choice, ...]:
    """The classifier head and its verdict when there are good parts to learn them from, else why not."""
    good, what = good_parts(fp)
    share = good / fp.images if fp.images else 0.0
    several = fp.several_classes
    if good >= MIN_GOOD_IMAGES and share >= MIN_GOOD_SHARE:
        learns = ("a classifier head learns each type's verdict (the part holds it or not), its probability the "
                  "type's part score, calibrated per type" if several else
                  "a classifier head learns the part's verdict, and its probability is the part score (on the magnetic "
                  "tiles it ranked parts far better than the largest pixel probability: docs/own-data.md)")
        return (
            Choice("model", "classifier_head", True,
                   f"{good} of the {fp.images} training images are {what} ({share:.0%}): {learns}"),
            Choice("model", "classifier_loss_weight", CLASSIFIER_LOSS_WEIGHT,
                   "the head's cross-entropy weighs as much as the pixels' bce + Dice"),
            Choice("model", "decision_gate", "classifier",
                   "the head decides the part (even where the mask is empty); masks of parts it calls good are "
                   "emptied" + ("; per type" if several else "")),
        )
    why = ("every training image is defective" if good == 0 and not several else
           f"only {good} of the {fp.images} training images are {what} (a head needs at least "
           f"{MIN_GOOD_IMAGES} and {MIN_GOOD_SHARE:.0%})")
    return (Choice("model", "classifier_head", False,
                   f"{why}: no part verdict to learn beside the masks, a part is defective when its mask is not "
                   "empty" + (" (image AUROC is undefined without good parts)" if good == 0 else "")),)
