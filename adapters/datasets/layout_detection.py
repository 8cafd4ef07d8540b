"""Which layout a folder of your own data is (`unet plan` reads any of them without being told):
images/ and masks/, or a labelling tool's annotations, each recognised by its own reader's
locator. Its train/ folder decides for a train/ and test/ layout."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from unet_defects.adapters.datasets.annotations.coco import locate_coco
from unet_defects.adapters.datasets.annotations.cvat_xml import locate_cvat_file
from unet_defects.adapters.datasets.annotations.files import image_files
from unet_defects.adapters.datasets.annotations.label_studio import locate_export
from unet_defects.adapters.datasets.annotations.labelme import labelme_folder
from unet_defects.adapters.datasets.splits import training_folder
from unet_defects.domain.errors import DataError

EXPECTED = ("images/ and masks/, a COCO .json, LabelMe .json files beside the images, a Label Studio JSON export "
            "or CVAT's annotations.xml (docs/datasets.md)")


def _is_labelme(folder: Path) -> bool:
    """A .json named as an image, beside it (LabelMe saves one so)."""
    where = labelme_folder(folder)
    stems = {path.stem for path in image_files(where)}
    return bool(stems) and any(path.stem in stems for path in where.glob("*.json"))


def detect(root: Path) -> tuple[str, Any]:
    """The train_input.dataset that reads `root`, and the annotation file and content its
    detection found (None when there is none to pass on: images/ and masks/, LabelMe's files),
    each file parsed once; or one line saying what was looked for."""
    folder = training_folder(root)
    if (folder / "images").is_dir() and (folder / "masks").is_dir():
        return "ImageFolderDataset", None
    cvat = locate_cvat_file(folder)
    if cvat is not None:
        return "CvatDataset", cvat
    if _is_labelme(folder):
        return "LabelMeDataset", None
    parsed: dict[Path, Any] = {}  # a .json parsed for COCO is not parsed again for Label Studio
    coco = locate_coco(folder, parsed)
    if coco is not None:
        return "CocoDataset", coco
    export = locate_export(folder, parsed)
    if export is not None:
        return "LabelStudioDataset", export
    if (folder / "images").is_dir():  # images/ alone: ImageFolderDataset's own check says masks/ is missing
        return "ImageFolderDataset", None
    raise DataError(f"{folder}: no dataset found; expected {EXPECTED}")


def detect_layout(root: Path) -> str:
    """The train_input.dataset that reads `root`."""
    return detect(root)[0]
