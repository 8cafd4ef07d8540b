"""The planner's rules for several defect types (label masks): one class per type, and the
type the network's scale is chosen for."""

from __future__ import annotations

from unet_defects.domain.fingerprint import DatasetFingerprint
from unet_defects.domain.planning_choice import Choice


def type_choices(fp: DatasetFingerprint, found: str = "in the label masks, label k the k-th name",
                 ) -> tuple[Choice, ...]:
    """One class per defect type (of label masks, or annotations' categories: `found` says
    where), or nothing (one defect)."""
    if not fp.several_classes:
        return ()
    names = [c.name for c in fp.classes]
    empty = [c.name for c in fp.classes if not c.images]
    return (Choice("train_input", "defect_class_names", names,
                   f"{len(names)} defect types {found}: one class each, with its own "
                   "mask, scores, decision and verdict; `defect_class_names: null` merges them into one defect"
                   + (f" ({', '.join(empty)}: no defect in the training images, it cannot learn)" if empty else "")),)


def thinnest(fp: DatasetFingerprint) -> tuple[float, str]:
    """The median defect width the network's scale must keep visible, and whose it is: the
    thinnest type's with several types (a thin type is lost at the scale of the others), else
    that of every defect."""
    learnable = [c for c in fp.classes if c.images]
    if len(learnable) > 1:
        hardest = min(learnable, key=lambda c: c.component_width.median)
        return hardest.component_width.median, f"the thinnest type's ({hardest.name}) median defect"
    return fp.component_width.median, "the median defect"
