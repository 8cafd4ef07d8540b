"""Which samples train and which test: the dataset folder checked, a seeded split of one listing,
or your own folder's train/ and test/ (image folders and annotations alike), listed once."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from unet_defects.domain.data import DataSpec, Sample
from unet_defects.domain.errors import ConfigError, DataError


def dataset_root(spec: DataSpec) -> Path:
    """train_input.dataset_path, checked: set, and an existing folder."""
    if not spec.dataset_path:
        raise ConfigError(f"train_input.dataset_path: required for {spec.dataset}")
    root = Path(spec.dataset_path)
    if not root.is_dir():
        raise DataError(f"{root}: dataset_path does not exist (train_input.dataset_path)")
    return root


OWN_DATA_SPLIT = 0.8  # your own folders without train/ and test/: the seeded share training keeps


def split_folders(root: Path) -> tuple[Path, Path] | None:
    """(train/, test/) when the dataset folder holds both, each a split of its own; else None."""
    return (root / "train", root / "test") if (root / "train").is_dir() and (root / "test").is_dir() else None


def training_folder(root: Path) -> Path:
    """The folder that holds the training images: train/ of a train/ and test/ layout, else `root`."""
    folders = split_folders(root)
    return root if folders is None else folders[0]


def own_splits(root: Path, spec: DataSpec, seed: int | None,
               listing: Callable[[Path, bool], list[Sample]]) -> tuple[list[Sample], list[Sample]]:
    """Training and test samples of your own folder: train/ and test/ each listed (`listing`'s flag:
    the training side), or one folder split by a seeded `train_test_split`."""
    folders = split_folders(root)
    if folders is not None:
        return listing(folders[0], True), listing(folders[1], False)
    share = OWN_DATA_SPLIT if spec.train_test_split is None else spec.train_test_split
    return split(listing(root, True), share, spec.split_seed(seed))


def split_once(make: Callable[[], tuple[list[Sample], list[Sample]]]) -> Callable[[str], list[Sample]]:
    """A `list_split` that lists and splits the samples on first use, then serves both sides."""
    parts: dict[str, list[Sample]] = {}

    def list_split(which: str) -> list[Sample]:
        if not parts:
            parts["train"], parts["eval"] = make()
        return parts[which]

    return list_split


def split(samples: list[Sample], share: float, seed: int | None) -> tuple[list[Sample], list[Sample]]:
    """A seeded shuffle of the samples, the first `share` for training (listing order kept on
    each side); both sides non-empty."""
    if len(samples) < 2:
        raise DataError(f"{samples[0].image.parent}: one image cannot be split into training and evaluation")
    order = np.random.default_rng(0 if seed is None else seed).permutation(len(samples))
    cut = min(max(1, round(share * len(samples))), len(samples) - 1)
    return [samples[i] for i in sorted(order[:cut])], [samples[i] for i in sorted(order[cut:])]
