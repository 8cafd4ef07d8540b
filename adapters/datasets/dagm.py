"""DagmReader: DAGM 2007 (`ClassN/{Train,Test}` with `Label/Labels.txt`) as tf.data streams.

Training reads `ClassN/Train`, evaluation `ClassN/Test`. Every file named by Labels.txt is
checked before training starts, so a missing or broken file ends with one line naming it
instead of a TensorFlow error in the middle of a run.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import attrs

from adapters.datasets.dagm_labels import LabelRow, read_labels
from adapters.images import read_gray
from domain.data import DataSpec
from domain.errors import ConfigError, DataError



@attrs.frozen
class Sample:
    image: Path
    mask: Path | None


def class_folder(spec: DataSpec) -> Path:
    if spec.class_id is None:
        raise ConfigError("train_input.class_id: required for DAGM2007Dataset (a class in 1..10)")
    if not spec.dataset_path:
        raise ConfigError("train_input.dataset_path: required for DAGM2007Dataset")
    root = Path(spec.dataset_path)
    if not root.is_dir():
        raise DataError(f"{root}: dataset_path does not exist (train_input.dataset_path)")
    folder = root / f"Class{spec.class_id}"
    if not folder.is_dir():
        present = sorted(p.name for p in root.glob("Class*") if p.is_dir())
        raise DataError(f"{folder}: class folder not found (present: {', '.join(present) or 'none'})")
    return folder


def list_samples(spec: DataSpec, split: str) -> list[Sample]:
    """The (image, mask) files of one split, as Labels.txt lists them."""
    folder = class_folder(spec) / split
    labels = folder / "Label" / "Labels.txt"
    rows: list[LabelRow] = read_labels(labels)
    samples = []
    for row in rows:
        if spec.only_defective_images and not row.defective:
            continue
        image = folder / row.image_file
        mask = folder / "Label" / row.mask_file if row.mask_file else None
        for path in (image, mask):
            if path is not None and not path.is_file():
                raise DataError(f"{labels}:{row.line}: {path.name} is listed but {path} does not exist")
        samples.append(Sample(image, mask))
    if not samples:
        kind = "defective images" if spec.only_defective_images else "images"
        raise DataError(f"{labels}: lists no {kind}")
    return samples


def check_readable(samples: list[Sample], workers: int = 4) -> None:
    """Decode every file once; the first broken one fails with its path."""

    def check(sample: Sample) -> None:
        image = read_gray(sample.image)
        if sample.mask is not None:
            mask = read_gray(sample.mask)
            check_mask_values(mask, sample.mask)
            if mask.shape != image.shape:
                raise DataError(
                    f"{sample.mask}: mask is {mask.shape[1]}x{mask.shape[0]} but its image is "
                    f"{image.shape[1]}x{image.shape[0]}"
                )

    with ThreadPoolExecutor(max_workers=workers) as pool:
        for _ in pool.map(check, samples):
            pass


BINARY_MASK_VALUES = ({0, 255}, {0, 1})


def check_mask_values(mask, path: Path) -> None:
    """Masks are 0/255 (DAGM) or 0/1; anything else would silently become a wrong mask."""
    import numpy as np

    values = set(np.unique(mask).tolist())
    if not any(values <= allowed for allowed in BINARY_MASK_VALUES):
        shown = ", ".join(str(v) for v in sorted(values)[:6]) + (", ..." if len(values) > 6 else "")
        raise DataError(f"{path}: a mask must hold only 0 and 255 (or 0 and 1), found {shown}")


class DagmReader:
    """DAGM 2007 reader: `training_stream` (infinite, shuffled, augmented, batched) and
    `evaluation_stream` (every test image exactly once, in Labels.txt order)."""

    def __init__(self, train: DataSpec, evaluation: DataSpec, seed: int | None = None) -> None:
        self._train = train
        self._eval = evaluation
        self._seed = train.seed if train.seed is not None else seed
        self._checked: dict[str, list[Sample]] = {}

    def name(self) -> str:
        return "dagm"

    def _samples(self, spec: DataSpec, split: str) -> list[Sample]:
        if split not in self._checked:
            samples = list_samples(spec, split)
            check_readable(samples)
            self._checked[split] = samples
        return self._checked[split]

    def training_size(self) -> int:
        return len(self._samples(self._train, "Train"))

    def evaluation_size(self) -> int:
        return len(self._samples(self._eval, "Test"))

    def training_stream(self):
        from adapters.datasets import pipeline

        samples = self._samples(self._train, "Train")
        return pipeline.training_stream(samples, self._train, self._seed)

    def evaluation_stream(self):
        from adapters.datasets import pipeline

        samples = self._samples(self._eval, "Test")
        return pipeline.evaluation_stream(samples, self._eval)


def open_dagm(train: DataSpec, evaluation: DataSpec, seed: int | None = None, progress=None) -> DagmReader:
    """A DagmReader; with `train_input.synthetic` set, the dataset is generated first if it is
    not already there (generated once, then reused)."""
    if train.synthetic is not None:
        from adapters.datasets.synthetic_dagm import SyntheticDagmSpec, ensure_generated

        spec = SyntheticDagmSpec.from_mapping(train.synthetic)
        if train.class_id is not None and train.class_id not in spec.class_ids:
            raise ConfigError(
                f"train_input.class_id: {train.class_id} is not among synthetic.class_ids {list(spec.class_ids)}"
            )
        ensure_generated(spec, train.dataset_path, progress)
    return DagmReader(train, evaluation, seed)
