"""The planner's rules for several defect types (label masks): one class per type, and the
type the network's scale is chosen for."""

from __future__ import annotations

from unet_defects.domain.class_fingerprint import ClassFingerprint
from unet_defects.domain.fingerprint import DatasetFingerprint
from unet_defects.domain.planning_choice import Choice


def type_choices(fp: DatasetFingerprint) -> tuple[Choice, ...]:
    """One class per defect type of label masks, or nothing (one defect)."""
    if not fp.several_classes:
        return ()
    names = [c.name for c in fp.classes]
    empty = [c.name for c in fp.classes if not c.images]
    return (Choice("train_input", "defect_class_names", names,
                   f"{len(names)} defect types in the label masks, label k the k-th name: one class each, with its own "
                   "mask, scores, decision and verdict; `defect_class_names: null` merges them into one defect"
                   + (f" ({', '.join(empty)}: no defect in the training images, it cannot learn)" if empty else "")),)


def thinnest(fp: DatasetFingerprint) -> ClassFingerprint | None:
    """The type with the narrowest median defect, of several that the training images hold (a
    thin type is lost at the scale the others allow); None for one defect."""
    learnable = [c for c in fp.classes if c.images]
    return min(learnable, key=lambda c: c.component_width.median) if len(learnable) > 1 else None
