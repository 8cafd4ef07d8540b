"""What each score means, in one line: the CLI's scores table and the report page both read it."""

from __future__ import annotations

from unet_defects.domain.part_score import SCORE_WORDS

MEANINGS = {
    "mIOU": "overlap (IoU) of predicted and true pixels, averaged over background and defect: the reference's headline",
    "DSC": "Dice of predicted and true pixels, averaged over background and defect: the reference's other headline",
    "MPCA": "the share of each class's pixels found, averaged over background and defect",
    "Acc": "the share of all pixels classified right (high whenever defects are rare)",
    "defect_IoU": "overlap (IoU) of the predicted and the true defect pixels, pooled over the images",
    "defect_Dice": "Dice of the predicted and the true defect pixels, pooled over the images",
    "per_image_Dice": "each image's defect Dice, averaged (no defect and none predicted counts 1)",
    "image_precision": "of the parts the decision calls defective, the share that are",
    "image_recall": "of the defective parts, the share the decision calls defective",
    "image_F1": "the harmonic mean of the part precision and recall",
    "image_AUROC": "the chance that a defective part scores above a good one, ranked by the part score",
    "defect_recall": "of the true defects (connected regions), the share a predicted region overlaps",
    "defect_precision": "of the predicted regions, the share that overlap a true defect",
}


def meaning(name: str, part_score: str | None = None) -> str:
    """The score's line; image_AUROC's names what ranked the parts (`part_score`: SCORE_WORDS' key)."""
    about = MEANINGS[name]
    if name == "image_AUROC" and part_score in SCORE_WORDS:
        about += f": {SCORE_WORDS[part_score]}"
    return about
