"""What each score means, in one line: the CLI's scores table and the report page both read it."""

from __future__ import annotations

from unet_defects.domain.part_score import SCORE_WORDS

MEANINGS = {
    "mIOU": "mean IoU of background and defect (reference)",
    "DSC": "mean Dice of background and defect (reference)",
    "MPCA": "mean per-class accuracy (reference)",
    "Acc": "pixel accuracy (reference)",
    "defect_IoU": "IoU of the defect class alone",
    "defect_Dice": "Dice of the defect class alone",
    "per_image_Dice": "mean per-image defect Dice, empty/empty = 1",
    "image_precision": "images predicted defective that are (any predicted pixel)",
    "image_recall": "defective images predicted defective",
    "image_F1": "F1 of the image-level decision",
    "image_AUROC": "AUROC of defective vs good images, ranked by the part score",
    "defect_recall": "true defects (connected regions) that a predicted region overlaps",
    "defect_precision": "predicted regions that overlap a true defect",
}


def meaning(name: str, part_score: str | None = None) -> str:
    """The score's line; image_AUROC's names what ranked the parts (`part_score`: SCORE_WORDS' key)."""
    about = MEANINGS[name]
    if name == "image_AUROC" and part_score in SCORE_WORDS:
        about += f": {SCORE_WORDS[part_score]}"
    return about
