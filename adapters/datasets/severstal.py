"""Severstal Steel Defect Detection (`train.csv` + `train_images/`): one class or several.

The rows of `class_id` (or of each of `defect_classes`) give the defective images and their
RLE masks, one per class; with `include_defect_free`, images with no row at all join as
negatives. The train/eval split is
seeded and made over images, so every row of an image lands on the same side.
"""

from __future__ import annotations

import logging
from pathlib import Path

from unet_defects.adapters.datasets.file_reader import FileDatasetReader
from unet_defects.adapters.datasets.severstal_csv import CLASS_IDS, read_train_csv
from unet_defects.adapters.datasets.splits import dataset_root, split, split_once
from unet_defects.adapters.images import IMAGE_SUFFIXES
from unet_defects.domain.augmentation import AugmentationSpec
from unet_defects.domain.data import DataSpec, Sample
from unet_defects.domain.errors import ConfigError, DataError
from unet_defects.domain.layouts import layout

log = logging.getLogger("unet")
DEFAULT_SPLIT = 0.85  # the reference's train share


def _root(spec: DataSpec) -> Path:
    if spec.defect_classes is not None:
        wrong = [c for c in spec.defect_classes if c not in CLASS_IDS]
        if wrong:
            raise ConfigError(f"train_input.defect_classes: SeverstalDataset has classes 1..4, got {wrong[0]}")
    elif spec.class_id not in CLASS_IDS:
        raise ConfigError(f"train_input.class_id: SeverstalDataset needs a class in 1..4, got {spec.class_id}")
    root = dataset_root(spec)
    if not (root / "train.csv").is_file():
        raise DataError(f"{root / 'train.csv'}: not found (train_input.dataset_path must hold train.csv "
                        "and train_images/)")
    if not (root / "train_images").is_dir():
        raise DataError(f"{root / 'train_images'}: not found")
    return root


def list_all(spec: DataSpec) -> list[Sample]:
    """Every usable image of the task, in ImageId order, before the split."""
    root = _root(spec)
    rows, problems = read_train_csv(root / "train.csv", skip_bad_rows=spec.skip_bad_rows)
    images = root / "train_images"
    present = {p.name for p in images.iterdir() if p.is_file()}
    classes = spec.classes
    chosen: dict[str, dict[int, str]] = {}
    for row in rows:
        where = f"{root / 'train.csv'}:{row.line}"
        problem = None
        if row.image_id not in present:
            problem = f"{where}: {row.image_id} is listed but {images / row.image_id} does not exist"
        elif row.class_id in classes and row.class_id in chosen.get(row.image_id, {}):
            problem = f"{where}: a second row for {row.image_id} class {row.class_id}"
        if problem is not None:
            if not spec.skip_bad_rows:
                raise DataError(problem)
            problems.append(problem)
            continue
        if row.class_id in classes:
            chosen.setdefault(row.image_id, {})[row.class_id] = row.encoded
    if problems:
        log.warning("%s: skipped %d bad rows (train_input.skip_bad_rows), the first: %s",
                    root / "train.csv", len(problems), problems[0])
    unused = [c for c in classes if not any(c in runs for runs in chosen.values())]
    if len(classes) > 1 and unused:
        raise DataError(f"{root / 'train.csv'}: no row of class {unused[0]} (train_input.defect_classes "
                        f"{list(classes)})")
    samples = {image_id: Sample(images / image_id, None, _runs(runs, spec)) for image_id, runs in chosen.items()}
    if spec.include_defect_free:
        with_rows = {row.image_id for row in rows}
        for name in present - with_rows:
            if name.lower().endswith(IMAGE_SUFFIXES):
                samples[name] = Sample(images / name, None, _runs({}, spec))
    if not samples:
        raise DataError(f"{root / 'train.csv'}: no images of class {', '.join(str(c) for c in classes)}"
                        + ("" if spec.include_defect_free else " (include_defect_free is off)"))
    return [samples[name] for name in sorted(samples)]


def _runs(by_class: dict[int, str], spec: DataSpec) -> str | tuple[str, ...]:
    """The sample's RLE: one string for one class, else one per class in channel order ("" for none)."""
    if spec.defect_classes is None:
        return by_class.get(spec.class_id, "")
    return tuple(by_class.get(c, "") for c in spec.classes)


def open_severstal(train: DataSpec, evaluation: DataSpec, seed: int | None = None,
                   augmentation: AugmentationSpec | None = None, stride: int = 1) -> FileDatasetReader:
    share = DEFAULT_SPLIT if train.train_test_split is None else train.train_test_split
    list_split = split_once(lambda: split(list_all(train), share, train.split_seed(seed)))
    # Masks resize nearest-neighbour, as the reference's Severstal pipeline (domain/layouts.py).
    return FileDatasetReader("severstal", train, evaluation, list_split, seed, augmentation, stride,
                             mask_method=layout(train.dataset).mask_resize)
