"""Your images and a labelling tool's annotations (COCO, LabelMe, Label Studio, CVAT): each
format's reader (adapters/datasets/annotations/) gives images and shapes; here their categories
become the classes (domain.annotations.choose_classes) and their shapes the samples' per-class
RLE masks, drawn once when listed. Then they train like any file dataset.

`dataset_path` holds `train/` and `test/`, each annotated on its own, or one annotated folder
split by a seeded `train_test_split`, as ImageFolderDataset.
"""

from __future__ import annotations

import importlib
import logging
from pathlib import Path
from typing import Any

from unet_defects.adapters.datasets.file_reader import FileDatasetReader
from unet_defects.adapters.datasets.splits import dataset_root, own_splits, split_once
from unet_defects.domain.annotations import AnnotationSet, ClassChoice, choose_classes, class_runs
from unet_defects.domain.augmentation import AugmentationSpec
from unet_defects.domain.data import DataSpec, Sample
from unet_defects.domain.errors import DataError

log = logging.getLogger("unet")

# Each layout's reader: (module under adapters/datasets/annotations, function), imported when used.
FORMATS = {
    "CocoDataset": ("coco", "read_coco"),
    "LabelMeDataset": ("labelme", "read_labelme"),
    "LabelStudioDataset": ("label_studio", "read_label_studio"),
    "CvatDataset": ("cvat_xml", "read_cvat_xml"),
}


def read_annotations(folder: Path, dataset: str, located: Any = None) -> AnnotationSet:
    """What the layout's own reader finds in `folder` (`located`: its annotation file and content,
    when the layout's detection parsed them already; LabelMe's files are each an image's own)."""
    module, function = FORMATS[dataset]
    reader = getattr(importlib.import_module(f"unet_defects.adapters.datasets.annotations.{module}"), function)
    return reader(folder) if located is None else reader(folder, located)


def annotated_samples(found: AnnotationSet, choice: ClassChoice, several: bool) -> list[Sample]:
    """A sample per image, its shapes drawn into one RLE per class (a string with one class, a
    tuple with `several`), in the annotation's order; an image listed twice is refused."""
    first: dict[Path, str] = {}
    for item in found.images:
        if item.image in first:
            raise DataError(f"{item.where}: its image {item.image} is also that of {first[item.image]}; list it once")
        first[item.image] = item.where
    samples = []
    for item in found.images:
        runs = class_runs(item, choice)
        samples.append(Sample(item.image, None, runs if several else runs[0], size=item.size or (0, 0),
                              source=item.where))
    return samples


def chosen_samples(found: AnnotationSet, names: tuple[str, ...] | None, category_map: dict[str, str] | None,
                   training: bool = True) -> list[Sample]:
    """The samples of one annotation set, its categories chosen by `names` and `category_map`
    (a class the training annotations lack is refused; test annotations may lack a rare one)."""
    if not found.images:
        raise DataError(f"{found.source}: no annotated image")
    choice = choose_classes(found.categories, names, category_map, found.source, every_name=training)
    if choice.ignored:
        log.info("%s: categories %s are not among train_input.defect_class_names; their shapes are left out",
                 found.source, ", ".join(choice.ignored))
    elif names is None and len(found.categories) > 1:
        log.info("%s: its %d categories are learnt as one defect class (name them in train_input.defect_class_names "
                 "to learn each)", found.source, len(found.categories))
    return annotated_samples(found, choice, names is not None)


def list_annotated(folder: Path, spec: DataSpec, training: bool = True) -> list[Sample]:
    """The samples of one annotated folder, as the spec chooses its classes and images."""
    found = read_annotations(folder, spec.dataset)
    samples = chosen_samples(found, spec.defect_class_names, spec.category_map, training)
    if spec.only_defective_images:
        samples = [sample for sample in samples if any(sample.runs)]
        if not samples:
            raise DataError(f"{found.source}: no image has a shape (train_input.only_defective_images)")
    return samples


def open_annotated(train: DataSpec, evaluation: DataSpec, seed: int | None = None,
                   augmentation: AugmentationSpec | None = None, stride: int = 1) -> FileDatasetReader:
    root = dataset_root(train)

    def both_splits() -> tuple[list[Sample], list[Sample]]:
        return own_splits(root, train, seed, lambda folder, training: list_annotated(folder, train, training))

    return FileDatasetReader("annotations", train, evaluation, split_once(both_splits), seed, augmentation, stride)
