"""One image's verdict: the decision on its probabilities, and each defect kept as a record."""

from __future__ import annotations

import functools
from collections.abc import Sequence

import attrs
import numpy as np

from unet_defects.application.inference import Decision
from unet_defects.application.ports import Components
from unet_defects.domain.defects import DefectRecord
from unet_defects.domain.part_score import part_score


@attrs.frozen(eq=False, slots=False)
class Inspection:
    """`probabilities` float32 (H, W); `mask` bool (H, W) after threshold and min_area (emptied
    where the part is called good); `score`: the part score (domain.part_score: the classifier
    head's probability, else the largest pixel probability; what image_AUROC ranks by);
    `verdicts`: each class's part verdict (a mask not empty, or the applied gate's, which may flag
    a part whose mask is empty); `defects`: one record per connected component kept
    (8-connected), largest first.

    The records are labelled when first asked for: a caller that needs only the mask (the
    server's protocol path) never pays for them, which on a busy mask is most of the decision's
    time."""

    probabilities: np.ndarray
    mask: np.ndarray
    score: float
    _components: Components = attrs.field(repr=False, alias="components")
    # Several defect classes: (class id, name) per channel of `probabilities` and `mask`,
    # which are then (H, W, K); each record names its class, and they come class by class.
    classes: tuple[tuple[int, str], ...] = ()
    # With a classifier head: its probability per class ((K,)), which the gate read.
    image_probabilities: np.ndarray | None = None
    verdicts: tuple[bool, ...] = ()  # per class; empty: read from the mask

    @functools.cached_property
    def defects(self) -> tuple[DefectRecord, ...]:
        if not self.classes:
            return tuple(self._components.records(self.probabilities, self.mask))
        return tuple(attrs.evolve(record, class_id=class_id, class_name=name)
                     for channel, (class_id, name) in enumerate(self.classes)
                     for record in self._components.records(self.probabilities[..., channel], self.mask[..., channel]))

    @property
    def defective(self) -> bool:
        return any(self.verdicts) if self.verdicts else bool(self.mask.any())  # a kept pixel is a kept component

    def summary(self) -> dict:
        """JSON-ready: the verdict without the pixel arrays."""
        found = {"defective": self.defective, "score": round(self.score, 6),
                 "defects": [defect.as_dict() for defect in self.defects]}
        if self.image_probabilities is not None:
            found["classifier"] = [round(float(p), 6) for p in self.image_probabilities]
        return found


def inspected(probabilities: np.ndarray, decisions: Decision | Sequence[Decision], components: Components,
              classes: tuple[tuple[int, str], ...] = (), image_probabilities: np.ndarray | None = None) -> Inspection:
    """The verdict on (H, W) probabilities with one decision, or on (H, W, K) ones with a
    decision per class (`classes` names them); `image_probabilities`: the classifier head's (K,),
    which a gated decision reads."""
    def image(k: int) -> float | None:
        return None if image_probabilities is None else float(image_probabilities[k])

    verdicts: tuple[bool, ...]
    if not classes:
        decision = decisions if isinstance(decisions, Decision) else decisions[0]
        mask, flagged = decision.decide(probabilities, components, image(0))
        verdicts, peaks = (flagged,), [float(probabilities.max()) if probabilities.size else 0.0]
    else:
        if isinstance(decisions, Decision):
            raise TypeError(f"one decision for {len(classes)} classes: give a decision per class")
        if len(decisions) != len(classes):
            raise ValueError(f"{len(decisions)} decisions for {len(classes)} classes")
        if probabilities.ndim != 3 or probabilities.shape[-1] != len(classes):
            raise ValueError(f"expected (H, W, {len(classes)}) probabilities, got shape {probabilities.shape}")
        decided = [decision.decide(probabilities[..., k], components, image(k)) for k, decision in enumerate(decisions)]
        mask, verdicts = np.stack([found for found, _ in decided], axis=-1), tuple(flag for _, flag in decided)
        peaks = [float(probabilities[..., k].max()) if probabilities.size else 0.0 for k in range(len(classes))]
    score = part_score(peaks, None if image_probabilities is None else [float(p) for p in image_probabilities])
    return Inspection(probabilities=probabilities, mask=mask, score=score, components=components, classes=classes,
                      image_probabilities=image_probabilities, verdicts=verdicts)
