"""A DatasetReader over lists of (image, mask) samples: checks every file once, then serves
tf.data streams. DAGM, Severstal and image folders differ only in how they list samples."""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from adapters.images import read_gray
from domain import rle
from domain.augmentation import AugmentationSpec
from domain.data import DataSpec, Sample
from domain.errors import ConfigError, DataError, DataProblems

log = logging.getLogger("unet")
SPLITS = ("train", "eval")
BINARY_MASK_VALUES = ({0, 255}, {0, 1})


def check_mask_values(mask: np.ndarray, path) -> None:
    """Masks are 0/255 (DAGM) or 0/1; anything else would silently become a wrong mask."""
    values = set(np.unique(mask).tolist())
    if not any(values <= allowed for allowed in BINARY_MASK_VALUES):
        shown = ", ".join(str(v) for v in sorted(values)[:6]) + (", ..." if len(values) > 6 else "")
        raise DataError(f"{path}: a mask must hold only 0 and 255 (or 0 and 1), found {shown}")


def dataset_root(spec: DataSpec) -> Path:
    """train_input.dataset_path, checked: set, and an existing folder."""
    if not spec.dataset_path:
        raise ConfigError(f"train_input.dataset_path: required for {spec.dataset}")
    root = Path(spec.dataset_path)
    if not root.is_dir():
        raise DataError(f"{root}: dataset_path does not exist (train_input.dataset_path)")
    return root


def split_once(make: Callable[[], tuple[list[Sample], list[Sample]]]) -> Callable[[str], list[Sample]]:
    """A `list_split` that lists and splits the samples on first use, then serves both sides."""
    parts: dict[str, list[Sample]] = {}

    def list_split(which: str) -> list[Sample]:
        if not parts:
            parts["train"], parts["eval"] = make()
        return parts[which]

    return list_split


def check_readable(samples: list, workers: int = 4, binary_masks: bool = True) -> list[tuple[int, int]]:
    """Decode every file once; broken ones fail with their paths (DataProblems). Returns image sizes."""

    def check(sample) -> tuple[int, int] | str:
        try:
            return checked_size(sample)
        except DataError as error:
            return str(error)

    def checked_size(sample) -> tuple[int, int]:
        image = read_gray(sample.image)
        if sample.encoded and image.shape != rle.SEVERSTAL_SHAPE:
            # The rows were validated (decoded) against this shape when train.csv was read, and
            # column-major numbering means the same runs on another height would be another mask.
            height, width = rle.SEVERSTAL_SHAPE
            raise DataError(f"{sample.image}: is {image.shape[1]}x{image.shape[0]}, but its train.csv runs number "
                            f"the pixels of a {width}x{height} image")
        if sample.mask is not None:
            mask = read_gray(sample.mask)
            if binary_masks:
                check_mask_values(mask, sample.mask)
            if mask.shape != image.shape:
                raise DataError(
                    f"{sample.mask}: mask is {mask.shape[1]}x{mask.shape[0]} but its image is "
                    f"{image.shape[1]}x{image.shape[0]}"
                )
        return image.shape

    with ThreadPoolExecutor(max_workers=workers) as pool:
        results = list(pool.map(check, samples))
    problems = [result for result in results if isinstance(result, str)]
    if problems:
        raise DataProblems(problems)
    return results


def split(samples: list[Sample], share: float, seed: int | None) -> tuple[list[Sample], list[Sample]]:
    """A seeded shuffle of the samples, the first `share` for training (listing order kept on
    each side); both sides non-empty."""
    if len(samples) < 2:
        raise DataError(f"{samples[0].image.parent}: one image cannot be split into training and evaluation")
    order = np.random.default_rng(0 if seed is None else seed).permutation(len(samples))
    cut = min(max(1, round(share * len(samples))), len(samples) - 1)
    return [samples[i] for i in sorted(order[:cut])], [samples[i] for i in sorted(order[cut:])]


class FileDatasetReader:
    """`training_stream` (infinite, shuffled, augmented, batched) and `evaluation_stream`
    (every evaluation sample exactly once, in listing order)."""

    def __init__(self, name: str, train: DataSpec, evaluation: DataSpec, list_split: Callable[[str], list],
                 seed: int | None = None, augmentation: AugmentationSpec | None = None, stride: int = 1,
                 mask_method: str = "bilinear", mask_threshold: float | None = None) -> None:
        self._name = name
        self._train = train
        self._eval = evaluation
        self._list_split = list_split
        self._seed = train.split_seed(seed)
        self._augmentation = augmentation
        self._stride = stride
        self._mask_method = mask_method
        self._mask_threshold = mask_threshold
        self._checked: dict[str, tuple[list, list[tuple[int, int]]]] = {}

    def name(self) -> str:
        return self._name

    def samples(self, split: str) -> list:
        """The checked samples of "train" or "eval", listed once."""
        if split not in self._checked:
            samples = self._list_split(split)
            sizes = check_readable(samples, binary_masks=self._mask_threshold is None)
            self._checked[split] = (samples, sizes)
        return self._checked[split][0]

    def training_size(self) -> int:
        return len(self.samples("train"))

    def evaluation_size(self) -> int:
        return len(self.samples("eval"))

    def training_stream(self):
        from adapters.datasets import pipeline

        samples = self.samples("train")
        sizes = self._checked["train"][1]
        return pipeline.training_stream(
            samples, self._train, self._seed, self._augmentation, mask_method=self._mask_method,
            mask_threshold=self._mask_threshold, native_pixels=max(h * w for h, w in sizes),
        )

    def evaluation_stream(self):
        from adapters.datasets import pipeline

        samples = self.samples("eval")
        return pipeline.evaluation_stream(samples, self._eval, mask_method=self._mask_method,
                                          mask_threshold=self._mask_threshold, stride=self._stride,
                                          one_size=len(set(self._checked["eval"][1])) == 1)
