"""DAGM 2007 (`ClassN/{Train,Test}` with `Label/Labels.txt`) as tf.data streams.

Training reads `ClassN/Train`, evaluation `ClassN/Test`. Every file named by Labels.txt is
checked before training starts, so a missing or broken file ends with one line naming it
instead of a TensorFlow error in the middle of a run.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from unet_defects.adapters.datasets.dagm_labels import LabelRow, read_labels
from unet_defects.adapters.datasets.file_reader import FileDatasetReader
from unet_defects.adapters.datasets.splits import dataset_root
from unet_defects.domain.augmentation import AugmentationSpec
from unet_defects.domain.data import DataSpec, Sample
from unet_defects.domain.errors import ConfigError, DataError


def class_folder(spec: DataSpec) -> Path:
    if spec.class_id is None:
        raise ConfigError("train_input.class_id: required for DAGM2007Dataset (a class in 1..10)")
    root = dataset_root(spec)
    folder = root / f"Class{spec.class_id}"
    if not folder.is_dir():
        present = sorted(p.name for p in root.glob("Class*") if p.is_dir())
        raise DataError(f"{folder}: class folder not found (present: {', '.join(present) or 'none'})")
    return folder


def list_samples(spec: DataSpec, split: str) -> list[Sample]:
    """The (image, mask) files of one split, as Labels.txt lists them. With
    train_input.image_labels_only, a Train row flagged defective whose mask is not named or not
    there is a part with its image label only."""
    folder = class_folder(spec) / split
    labels = folder / "Label" / "Labels.txt"
    unmasked = spec.image_labels_only and split == "Train"
    rows: list[LabelRow] = read_labels(labels, unmasked)
    samples = []
    for row in rows:
        if spec.only_defective_images and not row.defective:
            continue
        image = folder / row.image_file
        mask = folder / "Label" / row.mask_file if row.mask_file else None
        if unmasked and mask is not None and not mask.is_file():
            mask = None
        for path in (image, mask):
            if path is not None and not path.is_file():
                raise DataError(f"{labels}:{row.line}: {path.name} is listed but {path} does not exist")
        samples.append(Sample(image, mask, label_only=row.defective and mask is None))
    if not samples:
        kind = "defective images" if spec.only_defective_images else "images"
        raise DataError(f"{labels}: lists no {kind}")
    return samples


def list_dagm_split(train: DataSpec, evaluation: DataSpec) -> Callable[[str], list[Sample]]:
    """Training reads ClassN/Train, evaluation ClassN/Test."""
    return lambda split: list_samples(train, "Train") if split == "train" else list_samples(evaluation, "Test")


def open_dagm(train: DataSpec, evaluation: DataSpec, seed: int | None = None, progress=None,
              augmentation: AugmentationSpec | None = None, stride: int = 1) -> FileDatasetReader:
    """A reader of DAGM 2007 (`ClassN/{Train,Test}` with `Label/Labels.txt`); with
    `train_input.synthetic` set, the dataset is generated first if it is not already there
    (generated once, then reused)."""
    if train.synthetic is not None:
        from unet_defects.adapters.datasets.synthetic_dagm import SyntheticDagmSpec, ensure_generated

        spec = SyntheticDagmSpec.from_mapping(train.synthetic)
        if train.class_id is not None and train.class_id not in spec.class_ids:
            raise ConfigError(
                f"train_input.class_id: {train.class_id} is not among synthetic.class_ids {list(spec.class_ids)}"
            )
        ensure_generated(spec, train.dataset_path, progress)
    return FileDatasetReader("dagm", train, evaluation, list_dagm_split(train, evaluation), seed, augmentation,
                             stride)
