"""One image's verdict: the decision on its probabilities, and each defect kept as a record."""

from __future__ import annotations

import functools
from collections.abc import Sequence

import attrs
import numpy as np

from unet_defects.application.ports import Components
from unet_defects.domain.decision import Decision
from unet_defects.domain.defects import DefectRecord
from unet_defects.domain.part_score import part_score


@attrs.frozen(eq=False, slots=False)
class Inspection:
    """`probabilities` float32 and `mask` bool (after threshold and min_area, emptied where the
    part is called good), (H, W) for a model of one defect class and (H, W, K) for K classes;
    `score`: the part score (domain.part_score: the classifier head's probability, else the
    largest pixel probability; what image_AUROC ranks by); `verdicts`: each class's part verdict
    (a mask not empty, or the applied gate's, which may flag a part whose mask is empty);
    `defects`: one record per connected component kept (8-connected), largest first.

    The records are labelled when first asked for: a caller that needs only the mask (the
    server's protocol path) never pays for them, which on a busy mask is most of the decision's
    time."""

    class_probabilities: np.ndarray  # (H, W, K) float32
    class_masks: np.ndarray  # (H, W, K) bool
    score: float
    _components: Components = attrs.field(repr=False, alias="components")
    # Several defect classes: (class id, name) per channel; each record names its class, and
    # they come class by class.
    classes: tuple[tuple[int, str], ...] = ()
    # With a classifier head: its probability per class ((K,)), which the gate read.
    image_probabilities: np.ndarray | None = None
    verdicts: tuple[bool, ...] = ()  # per class

    @property
    def probabilities(self) -> np.ndarray:
        """(H, W) for one class, (H, W, K) for several: the public view."""
        return _public(self.class_probabilities)

    @property
    def mask(self) -> np.ndarray:
        """(H, W) for one class, (H, W, K) for several: the public view."""
        return _public(self.class_masks)

    @functools.cached_property
    def defects(self) -> tuple[DefectRecord, ...]:
        found = [self._components.records(self.class_probabilities[..., k], self.class_masks[..., k])
                 for k in range(self.class_masks.shape[-1])]
        if not self.classes:  # one class: records without a class
            return tuple(found[0])
        return tuple(attrs.evolve(record, class_id=class_id, class_name=name)
                     for records, (class_id, name) in zip(found, self.classes) for record in records)

    @property
    def defective(self) -> bool:
        return any(self.verdicts)

    def summary(self) -> dict:
        """JSON-ready: the verdict without the pixel arrays."""
        found: dict = {"defective": self.defective, "score": round(self.score, 6)}
        if self.classes:  # several classes: the verdict names the types found
            found["types"] = [name for (_, name), flagged in zip(self.classes, self.verdicts) if flagged]
        found["defects"] = [defect.as_dict() for defect in self.defects]
        if self.image_probabilities is not None:
            found["classifier"] = [round(float(p), 6) for p in self.image_probabilities]
        return found


def _public(array: np.ndarray) -> np.ndarray:
    return array[..., 0] if array.shape[-1] == 1 else array


def inspected(probabilities: np.ndarray, decisions: Sequence[Decision], components: Components,
              classes: tuple[tuple[int, str], ...] = (), image_probabilities: np.ndarray | None = None) -> Inspection:
    """The verdict on (H, W, K) probabilities with a decision per class (`classes` names them
    when there are several); `image_probabilities`: the classifier head's (K,), which a gated
    decision reads."""
    if probabilities.ndim != 3 or probabilities.shape[-1] != len(decisions):
        raise ValueError(f"expected (H, W, {len(decisions)}) probabilities (a channel per decision), "
                         f"got shape {probabilities.shape}")
    if classes and len(classes) != len(decisions):
        raise ValueError(f"{len(decisions)} decisions for {len(classes)} classes")
    mask = np.empty(probabilities.shape, bool)
    verdicts, peaks = [], []
    for k, decision in enumerate(decisions):
        image = None if image_probabilities is None else float(image_probabilities[k])
        mask[..., k], flagged = decision.decide(probabilities[..., k], components, image)
        verdicts.append(flagged)
        peaks.append(float(probabilities[..., k].max()) if probabilities.size else 0.0)
    heads = None if image_probabilities is None else [float(p) for p in image_probabilities]
    return Inspection(class_probabilities=probabilities, class_masks=mask, score=part_score(peaks, heads),
                      components=components, classes=classes, image_probabilities=image_probabilities,
                      verdicts=tuple(verdicts))
