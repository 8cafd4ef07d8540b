"""ImageFolderSurvey: which images of an own-data folder a plan may read. A train/ and test/
layout gives train/; one images/ and masks/ pair gives the seeded share that training keeps
(the rest is the test split, which the planner never reads)."""

from __future__ import annotations

from pathlib import Path

from unet_defects.adapters.datasets.file_reader import split
from unet_defects.adapters.datasets.image_folder import list_pairs
from unet_defects.domain.class_fingerprint import parse_class_names
from unet_defects.domain.data import Sample
from unet_defects.domain.errors import DataError
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


class ImageFolderSurvey:
    def training_samples(self, dataset_path: str, seed: int = 0,
                         keep: float = 1 - TEST_SPLIT) -> tuple[list[Sample], DataSplit]:
        root = Path(dataset_path)
        if not root.is_dir():
            raise DataError(f"{root}: not a folder (unet plan takes a folder of images/ and masks/, or of train/ "
                            "and test/ each holding both)")
        names, names_file = read_class_names(root)
        named = dict(class_names=names, class_names_file=names_file)
        if (root / "train").is_dir() and (root / "test").is_dir():
            samples = self._pairs(root / "train")
            return samples, DataSplit(dataset_path=str(root), test_folder=True,
                                      description="train/ of a train/ and test/ layout (test/ is not read when "
                                                  "planning)", **named)
        samples = self._pairs(root)
        if len(samples) < 2:
            return samples, DataSplit(dataset_path=str(root), test_folder=False, description="one image", **named)
        kept, _ = split(samples, keep, seed)  # as training splits it (train_test_split, seed)
        return kept, DataSplit(dataset_path=str(root), test_folder=False,
                               description=f"one images/ and masks/ folder: the seeded {keep:.0%} that "
                                           f"training keeps (the other {1 - keep:.0%} are the test images, not read "
                                           "when planning)", **named)

    @staticmethod
    def _pairs(folder: Path) -> list[Sample]:
        samples = list_pairs(folder)
        if not (folder / "masks").is_dir():
            raise DataError(f"{folder / 'masks'}: not found; a plan needs masks (masks/ beside images/, a mask per "
                            "defective image with the image's stem)")
        if all(sample.mask is None for sample in samples):
            raise DataError(f"{folder / 'masks'}: no mask matches an image's stem; a plan needs masks")
        return samples
