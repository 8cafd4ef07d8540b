"""Predicted defects as LabelMe files: in `labelme/`, each image (hard-linked, else copied) beside
its `<stem>.json`, one polygon shape per 8-connected component, so `labelme labelme/` opens the
proposals for correction. An image without defects still gets its file, with no shapes: the
reviewer sees "no defect" rather than "not looked at".

Polygons are the components' outer boundaries (contours.outline): exact up to holes, which
LabelMe's polygons cannot have. `score` is kept by LabelMe as an extra key of the shape.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from unet_defects.adapters.annotation_exports.contours import Proposal, check_arrays, outline, proposals_of
from unet_defects.adapters.atomic_files import write_text
from unet_defects.domain.errors import DataError

FOLDER = "labelme"
LABELME_VERSION = "5.5.0"  # the layout written: LabelMe 5.x's, with `description` and `mask`


def place_image(source: Path, target: Path) -> None:
    """`target` becomes `source`'s content: a hard link when the file system allows, else a copy,
    through a temporary name so a crash never leaves half an image."""
    if target.exists() and os.path.samefile(source, target):
        return
    temporary = target.with_name(f".{target.name}.tmp")
    temporary.unlink(missing_ok=True)
    try:
        os.link(source, temporary)
    except OSError:  # another file system, or links not supported
        shutil.copyfile(source, temporary)
    os.replace(temporary, target)


class LabelMeExport:
    """Writes each image's LabelMe file as it comes."""

    def __init__(self, output: Path, class_names: Sequence[str]) -> None:
        self.folder = Path(output) / FOLDER
        self.class_names = tuple(class_names)
        self.written: dict[str, str] = {}  # file name -> the image it came from, to refuse two of one name
        earlier = sorted(self.folder.glob("*.json"))
        if earlier:  # a reviewer may have corrected them: never overwrite a person's work
            raise DataError(f"{self.folder}: holds LabelMe files already ({earlier[0].name}, ...), perhaps corrected "
                            "by a reviewer; write the proposals into another --output")

    def add(self, name: str, image_path: Path, size: tuple[int, int], masks: np.ndarray,
            probabilities: np.ndarray) -> list[str]:
        """The image's copy and its JSON; returns their paths."""
        check_arrays(name, size, masks, probabilities, len(self.class_names))
        return self.add_proposals(name, image_path, size, proposals_of(masks, probabilities))

    def add_proposals(self, name: str, image_path: Path, size: tuple[int, int],
                      proposals: Sequence[Proposal]) -> list[str]:
        image_path = Path(image_path)
        height, width = int(size[0]), int(size[1])
        stem = image_path.stem
        if stem in self.written and self.written[stem] != str(image_path):
            # One folder of LabelMe files: a second image of the same stem would overwrite the first.
            raise DataError(f"{name}: its LabelMe file {stem}.json would overwrite that of {self.written[stem]} "
                            "(images of one name in two folders)")
        self.written[stem] = str(image_path)
        shapes = [{
            "label": self.class_names[proposal.channel],
            "points": [[x, y] for x, y in outline(proposal.component)],
            "group_id": None,
            "description": f"score {proposal.score:.2f}",
            "shape_type": "polygon",
            "flags": {},
            "mask": None,
            "score": proposal.score,
        } for proposal in proposals]
        document: dict = {"version": LABELME_VERSION, "flags": {}, "shapes": shapes, "imagePath": image_path.name,
                    "imageData": None, "imageHeight": height, "imageWidth": width}
        self.folder.mkdir(parents=True, exist_ok=True)
        image = self.folder / image_path.name
        place_image(image_path, image)
        labels = write_text(self.folder / f"{stem}.json", json.dumps(document, indent=2, ensure_ascii=False))
        return [str(image), labels]
