"""Predicted defects as one COCO instances file (`predictions.coco.json`), the layout CVAT's
"COCO 1.0" import and pycocotools read: an image entry per image, an annotation per 8-connected
component of each class's mask, as a compressed RLE (exact, holes included).

`score` (the component's mean probability) is the key COCO's detection results carry; CVAT
keeps it as an attribute or ignores it, so a reviewer can sort by confidence where supported.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from unet_defects.adapters.annotation_exports.contours import Component, Proposal, check_arrays, proposals_of
from unet_defects.adapters.atomic_files import write_text

FILE_NAME = "predictions.coco.json"
SUPERCATEGORY = "defect"


def component_counts(component: Component, height: int) -> list[int]:
    """The component's uncompressed COCO RLE (column-major runs, background first) over an image of
    `height` rows, from its box alone: the cost is its pixels, not the image's."""
    rows, columns = component.box
    inside = np.flatnonzero(component.pixels.T.ravel())  # column-major within the box
    box_height = component.pixels.shape[0]
    flat = (columns.start + inside // box_height) * height + rows.start + inside % box_height
    breaks = np.flatnonzero(np.diff(flat) != 1) + 1
    starts, ends = flat[np.r_[0, breaks]], flat[np.r_[breaks - 1, len(flat) - 1]] + 1
    edges = np.column_stack([starts, ends]).ravel()
    return np.diff(np.r_[0, edges]).tolist()


class CocoExport:
    """Accumulates the images' defects; `close` writes the file."""

    def __init__(self, output: Path, class_names: Sequence[str]) -> None:
        self.output = Path(output)
        self.class_names = tuple(class_names)
        self.images: list[dict] = []
        self.annotations: list[dict] = []

    def add(self, name: str, size: tuple[int, int], masks: np.ndarray, probabilities: np.ndarray) -> None:
        """One image entry, and an annotation per component of each class channel (none: a good part)."""
        check_arrays(name, size, masks, probabilities, len(self.class_names))
        self.add_proposals(name, size, proposals_of(masks, probabilities))

    def add_proposals(self, name: str, size: tuple[int, int], proposals: Sequence[Proposal]) -> None:
        from pycocotools import mask as coco_mask

        height, width = int(size[0]), int(size[1])
        image_id = len(self.images) + 1
        self.images.append({"id": image_id, "file_name": Path(name).name, "height": height, "width": width})
        for proposal in proposals:
            counts = component_counts(proposal.component, height)
            rest = height * width - sum(counts)
            counts += [rest] if rest else []  # the background after the last run (none past the last pixel)
            encoded = coco_mask.frPyObjects({"size": [height, width], "counts": counts}, height, width)
            self.annotations.append({
                "id": len(self.annotations) + 1,
                "image_id": image_id,
                "category_id": proposal.channel + 1,
                "segmentation": {"size": [height, width], "counts": encoded["counts"].decode("ascii")},
                "area": int(coco_mask.area(encoded)),
                "bbox": [float(v) for v in coco_mask.toBbox(encoded)],
                "iscrowd": 0,
                "score": proposal.score,
            })

    def close(self) -> str:
        """Writes the file (atomically) and returns its path."""
        document = {
            "info": {"description": "unet predict proposals", "contributor": "unet_defects"},
            "images": self.images,
            "annotations": self.annotations,
            "categories": [{"id": k + 1, "name": name, "supercategory": SUPERCATEGORY}
                           for k, name in enumerate(self.class_names)],
        }
        self.output.mkdir(parents=True, exist_ok=True)
        return write_text(self.output / FILE_NAME, json.dumps(document))
