"""FolderSurvey: which images of an own-data folder a plan may read, in whichever layout it is
(images/ and masks/, or a labelling tool's annotations: layout_detection). A train/ and test/
layout gives train/; one folder gives the seeded share that training keeps (the rest is the test
split, which the planner never reads)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from unet_defects.adapters.datasets.annotated import chosen_samples, read_annotations
from unet_defects.adapters.datasets.image_folder import list_pairs
from unet_defects.adapters.datasets.layout_detection import EXPECTED, detect
from unet_defects.adapters.datasets.splits import split, training_folder
from unet_defects.domain.annotations import class_names_of
from unet_defects.domain.class_fingerprint import parse_class_names
from unet_defects.domain.data import Sample
from unet_defects.domain.errors import DataError
from unet_defects.domain.layouts import ANNOTATION_LAYOUTS
from unet_defects.domain.planning import TEST_SPLIT, DataSplit

CLASS_NAMES_FILE = "classes.txt"


def class_names_file(root: Path) -> Path | None:
    """classes.txt in the dataset folder, or beside masks/ in its train/ folder."""
    for folder in (root, root / "train"):
        if (folder / CLASS_NAMES_FILE).is_file():
            return folder / CLASS_NAMES_FILE
    return None


def read_class_names(root: Path) -> tuple[tuple[str, ...] | None, str]:
    """The defect types' names a classes.txt gives (None without one), and where it is."""
    path = class_names_file(root)
    if path is None:
        return None, str(root / CLASS_NAMES_FILE)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as error:
        raise DataError(f"{path}: cannot read the class names ({error})") from None
    return parse_class_names(text, str(path)), str(path)


class FolderSurvey:
    def training_samples(self, dataset_path: str, seed: int = 0, keep: float = 1 - TEST_SPLIT,
                         class_names: Sequence[str] | None = None, category_map: Mapping[str, str] | None = None,
                         ) -> tuple[list[Sample], DataSplit]:
        root = Path(dataset_path)
        if not root.is_dir():
            raise DataError(f"{root}: not a folder (unet plan takes a folder of {EXPECTED}, or of train/ and test/ "
                            "each holding one)")
        dataset, located = detect(root)
        folder = training_folder(root)
        test_folder = folder != root
        if dataset in ANNOTATION_LAYOUTS:
            samples, named, what = self._annotated(folder, dataset, located, class_names, category_map)
        else:
            names, names_file = read_class_names(root)
            named = dict(class_names=names, class_names_file=names_file)
            samples, what = self._pairs(folder), "images/ and masks/"
        if test_folder:
            return samples, DataSplit(dataset_path=str(root), test_folder=True, dataset=dataset,
                                      description=f"train/ of a train/ and test/ layout of {what} (test/ is not read "
                                                  "when planning)", **named)
        if len(samples) < 2:
            return samples, DataSplit(dataset_path=str(root), test_folder=False, dataset=dataset,
                                      description="one image", **named)
        kept, _ = split(samples, keep, seed)  # as training splits it (train_test_split, seed)
        return kept, DataSplit(dataset_path=str(root), test_folder=False, dataset=dataset,
                               description=f"one folder of {what}: the seeded {keep:.0%} that training keeps (the "
                                           f"other {1 - keep:.0%} are the test images, not read when planning)",
                               **named)

    @staticmethod
    def _annotated(folder: Path, dataset: str, located: Any, class_names: Sequence[str] | None,
                   category_map: Mapping[str, str] | None) -> tuple[list[Sample], dict, str]:
        """The annotated images, a class per category (or per name the user gave, after their
        category_map) when there are several: the plan writes them as defect_class_names."""
        found = read_annotations(folder, dataset, located)  # the file detection parsed
        renamed = class_names_of(found.categories, category_map)
        names = tuple(class_names) if class_names else (renamed if len(renamed) > 1 else None)
        named = dict(class_names=names, class_names_file=found.source)
        return (chosen_samples(found, names, category_map), named,
                f"{dataset} annotations ({Path(found.source).name})")

    @staticmethod
    def _pairs(folder: Path) -> list[Sample]:
        samples = list_pairs(folder)
        if not (folder / "masks").is_dir():
            raise DataError(f"{folder / 'masks'}: not found; a plan needs masks (masks/ beside images/, a mask per "
                            "defective image with the image's stem)")
        if all(sample.mask is None for sample in samples):
            raise DataError(f"{folder / 'masks'}: no mask matches an image's stem; a plan needs masks")
        return samples
