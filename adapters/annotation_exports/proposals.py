"""`unet predict --annotations` and `unet review`: the model's proposals in the formats asked for,
written side by side (application.prediction_ports.ProposalWriter)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from unet_defects.adapters.annotation_exports.coco_export import CocoExport
from unet_defects.adapters.annotation_exports.contours import check_arrays, proposals_of
from unet_defects.adapters.annotation_exports.labelme_export import LabelMeExport
from unet_defects.domain.errors import ConfigError

ANNOTATION_FORMATS = ("coco", "labelme")


class ProposalFiles:
    def __init__(self, formats: Sequence[str], output: str, class_names: Sequence[str]) -> None:
        unknown = [name for name in formats if name not in ANNOTATION_FORMATS]
        if unknown:
            raise ConfigError(f"--annotations: unknown format {unknown[0]!r} (choose from "
                              f"{', '.join(ANNOTATION_FORMATS)})")
        folder = Path(output)
        self._classes = len(class_names)
        self._coco = CocoExport(folder, class_names) if "coco" in formats else None
        self._labelme = LabelMeExport(folder, class_names) if "labelme" in formats else None

    def add(self, name: str, image_file: str, masks: np.ndarray, probabilities: np.ndarray) -> list[str]:
        size = (int(masks.shape[0]), int(masks.shape[1]))
        check_arrays(name, size, masks, probabilities, self._classes)
        found = proposals_of(masks, probabilities)  # the components once, for every format
        if self._coco is not None:
            self._coco.add_proposals(name, size, found)
        return [] if self._labelme is None else self._labelme.add_proposals(name, Path(image_file), size, found)

    def close(self) -> list[str]:
        return [] if self._coco is None else [self._coco.close()]

