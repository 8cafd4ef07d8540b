"""One image's verdict: the decision on its probabilities, and each defect kept as a record."""

from __future__ import annotations

import functools

import attrs
import numpy as np

from application.inference import Decision
from application.ports import Components
from domain.defects import DefectRecord


@attrs.frozen(eq=False, slots=False)
class Inspection:
    """`probabilities` float32 (H, W); `mask` bool (H, W) after threshold and min_area;
    `score`: the image's largest probability (what image_AUROC ranks by); `defects`: one record
    per connected component kept (8-connected), largest first.

    The records are labelled when first asked for: a caller that needs only the mask (the
    server's protocol path) never pays for them, which on a busy mask is most of the decision's
    time."""

    probabilities: np.ndarray
    mask: np.ndarray
    score: float
    _components: Components = attrs.field(repr=False, alias="components")

    @functools.cached_property
    def defects(self) -> tuple[DefectRecord, ...]:
        return tuple(self._components.records(self.probabilities, self.mask))

    @property
    def defective(self) -> bool:
        return bool(self.mask.any())  # a kept pixel is a kept component

    def summary(self) -> dict:
        """JSON-ready: the verdict without the pixel arrays."""
        return {"defective": self.defective, "score": round(self.score, 6),
                "defects": [defect.as_dict() for defect in self.defects]}


def inspected(probabilities: np.ndarray, decision: Decision, components: Components) -> Inspection:
    mask = decision.apply(probabilities, components)
    score = float(probabilities.max()) if probabilities.size else 0.0
    return Inspection(probabilities=probabilities, mask=mask, score=score, components=components)
