"""ImageFolderDataset: your own `images/` and `masks/` folders.

`dataset_path` holds either `train/` and `test/`, each with `images/` and `masks/`, or one
`images/` and `masks/` pair split by a seeded `train_test_split`. A mask is matched to its
image by file stem (`a.jpg` <- `a.png`); an image without a mask is defect-free. Any size and
format imageio reads; masks are binarized at `mask_threshold`, or, when
`defect_class_names` names the classes, read as label images (pixel value k = class k). With
`image_labels_only`, a `defective/` folder beside images/ and masks/ (of `train/`, or of the one
pair) holds defective parts without masks; they join the training side only.
"""

from __future__ import annotations

from pathlib import Path

from unet_defects.adapters.datasets.file_reader import FileDatasetReader
from unet_defects.adapters.datasets.splits import dataset_root, own_splits, split_once, training_folder
from unet_defects.adapters.images import IMAGE_SUFFIXES
from unet_defects.domain.augmentation import AugmentationSpec
from unet_defects.domain.data import DataSpec, Sample
from unet_defects.domain.errors import DataError


def _files_by_stem(folder: Path) -> dict[str, Path]:
    found: dict[str, Path] = {}
    for path in sorted(folder.iterdir()):
        if path.is_file() and path.suffix.lower() in IMAGE_SUFFIXES:
            if path.stem in found:
                raise DataError(f"{path}: two files share the stem {path.stem!r} ({found[path.stem].name})")
            found[path.stem] = path
    return found


def list_pairs(folder: Path) -> list[Sample]:
    images_dir, masks_dir = folder / "images", folder / "masks"
    if not images_dir.is_dir():
        raise DataError(f"{images_dir}: not found (ImageFolderDataset expects images/ and masks/)")
    images = _files_by_stem(images_dir)
    masks = _files_by_stem(masks_dir) if masks_dir.is_dir() else {}
    orphans = sorted(set(masks) - set(images))
    if orphans:
        raise DataError(f"{masks[orphans[0]]}: a mask with no image of the same stem in {images_dir}")
    if not images:
        raise DataError(f"{images_dir}: no image files ({', '.join(IMAGE_SUFFIXES)})")
    return [Sample(images[stem], masks.get(stem)) for stem in sorted(images)]


def labelled_defective(folder: Path, required: bool) -> list[Sample]:
    """`defective/` beside images/ and masks/: parts known to be defective, with no mask drawn
    (`required`: when nothing else would use train_input.image_labels_only)."""
    where = folder / "defective"
    if not where.is_dir() and not required:
        return []
    if not where.is_dir():
        raise DataError(f"{where}: not found (train_input.image_labels_only reads the defective parts without "
                        "masks from it)")
    found = _files_by_stem(where)
    if not found:
        raise DataError(f"{where}: no image files ({', '.join(IMAGE_SUFFIXES)})")
    return [Sample(found[stem], None, label_only=True) for stem in sorted(found)]


def _usable(folder: Path, spec: DataSpec) -> list[Sample]:
    samples = list_pairs(folder)
    if spec.only_defective_images:
        samples = [sample for sample in samples if sample.mask is not None]
        if not samples:
            raise DataError(f"{folder / 'masks'}: no image has a mask (train_input.only_defective_images)")
    return samples


def open_image_folder(train: DataSpec, evaluation: DataSpec, seed: int | None = None,
                      augmentation: AugmentationSpec | None = None, stride: int = 1) -> FileDatasetReader:
    root = dataset_root(train)

    def both_splits() -> tuple[list[Sample], list[Sample]]:
        training, testing = own_splits(root, train, seed, lambda folder, _: _usable(folder, train))
        if train.image_labels_only:  # training only: they have no pixels to score
            training = training + labelled_defective(training_folder(root), required=train.masked_fraction >= 1.0)
        return training, testing

    return FileDatasetReader("image_folder", train, evaluation, split_once(both_splits), seed, augmentation, stride,
                             mask_threshold=float(train.mask_threshold))
