"""A DatasetReader over lists of (image, mask) samples: checks every file once, then serves
tf.data streams. DAGM, Severstal and image folders differ only in how they list samples."""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import attrs
import numpy as np

from unet_defects.adapters.datasets.validation_part import curve_sample, validation_strata
from unet_defects.adapters.images import read_gray, read_mask
from unet_defects.domain.augmentation import AugmentationSpec
from unet_defects.domain.data import DataSpec
from unet_defects.domain.errors import ConfigError, DataError, DataProblems
from unet_defects.domain.image_labels import kept_masks
from unet_defects.domain.masks import binarize_mask
from unet_defects.domain.splitting import stratified_split, types_from_names

log = logging.getLogger("unet")
SPLITS = ("train", "eval")
BINARY_MASK_VALUES = ({0, 255}, {0, 1})


def check_mask_values(mask: np.ndarray, path) -> None:
    """Masks are 0/255 (DAGM) or 0/1; anything else would silently become a wrong mask."""
    values = set(np.unique(mask).tolist())
    if not any(values <= allowed for allowed in BINARY_MASK_VALUES):
        shown = ", ".join(str(v) for v in sorted(values)[:6]) + (", ..." if len(values) > 6 else "")
        raise DataError(f"{path}: a mask must hold only 0 and 255 (or 0 and 1), found {shown}")


def check_label_values(mask: np.ndarray, path, names: tuple[str, ...]) -> tuple[int, ...]:
    """Label masks hold 0 (good) and 1..K, one value per named class; the class channels
    (value - 1) the mask holds."""
    found = set(np.unique(mask).tolist())
    values = found - set(range(len(names) + 1))
    if values:
        raise DataError(f"{path}: mask value {min(values)} names no class (train_input.defect_class_names "
                        f"has {len(names)}: values 1..{len(names)}, 0 for good)")
    return tuple(sorted(int(value) - 1 for value in found - {0}))


@attrs.frozen
class CheckedFile:
    """What reading a sample once found: its size, whether its mask has a defect pixel, and
    the class channels (0..K-1) that do: label values 1..K, non-empty Severstal runs, channel 0
    of a binary mask; none for a part with an image label only (no pixel to centre a draw on)."""

    size: tuple[int, int]
    defective: bool
    classes: tuple[int, ...] = ()


def check_readable(samples: list, workers: int = 4, binary_masks: bool = True,
                   mask_threshold: float | None = None, label_names: tuple[str, ...] | None = None
                   ) -> list[CheckedFile]:
    """Decode every file once; broken ones fail with their paths (DataProblems). With
    `label_names`, masks are label images of those classes."""

    def check(sample) -> CheckedFile | str:
        try:
            return checked(sample)
        except DataError as error:
            return str(error)

    def checked(sample) -> CheckedFile:
        image = read_gray(sample.image)
        if sample.label_only:  # defective by its label; no mask to check
            return CheckedFile(image.shape, True)
        sample.check_size(image.shape)  # train.csv's rows were decoded, an annotation's shapes drawn, at its size
        classes = tuple(channel for channel, runs in enumerate(sample.runs) if runs.strip())
        if sample.mask is not None:
            mask = read_mask(sample.mask)
            if label_names is not None:
                classes = check_label_values(mask, sample.mask, label_names)
            elif binary_masks:
                check_mask_values(mask, sample.mask)
            if mask.shape != image.shape:
                raise DataError(
                    f"{sample.mask}: mask is {mask.shape[1]}x{mask.shape[0]} but its image is "
                    f"{image.shape[1]}x{image.shape[0]}"
                )
            if label_names is None:
                classes = (0,) if binarize_mask(mask, mask_threshold).any() else ()
        return CheckedFile(image.shape, bool(classes), classes)

    with ThreadPoolExecutor(max_workers=workers) as pool:
        results = list(pool.map(check, samples))
    problems = [result for result in results if isinstance(result, str)]
    if problems:
        raise DataProblems(problems)
    return results


def only_eval(split: str, source: str) -> None:
    """Readers without a validation part serve the one evaluation split (the learning curve's too)."""
    if split not in ("eval", "curve"):
        raise ConfigError(f"train_input.validation_split: {source} have no separate {split} split")


class FileDatasetReader:
    """`training_stream` (infinite, shuffled, augmented, batched) and `evaluation_stream`
    (every sample of a split exactly once, in listing order).

    The listing gives "train" and "test". With `train_input.validation_split` a stratified share
    of "train" is held out as "validation"; "eval", the split that chooses checkpoints, is then
    the validation part, else the test images."""

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
        self._checked: dict[str, tuple[list, list[CheckedFile]]] = {}

    def name(self) -> str:
        return self._name

    def _listed(self, which: str) -> tuple[list, list[CheckedFile]]:
        """The listing's "train" or "test" samples, each file checked once."""
        key = f"listed-{which}"
        if key not in self._checked:
            samples = self._list_split("train" if which == "train" else "eval")
            found = check_readable(samples, binary_masks=self._mask_threshold is None,
                                   mask_threshold=self._mask_threshold,
                                   label_names=self._train.class_names if self._train.label_masks else None)
            self._checked[key] = (samples, found)
        return self._checked[key]

    def _split(self, split: str) -> tuple[list, list[CheckedFile]]:
        if split == "curve" and not self._train.curve_is_sample:
            split = "eval"  # no sample asked for: the learning curve scores the whole evaluation split
        if split == "eval":
            split = "validation" if self._train.validation_split else "test"
        if split not in ("train", "validation", "test", "curve"):
            raise ValueError(f"unknown split {split!r}")
        if split == "curve" and split not in self._checked:
            samples, found = self._split("validation")
            picked = curve_sample(validation_strata(samples, found, len(self._train.classes)),
                                  self._train.validation_sample or len(samples), self._seed)
            self._checked[split] = ([samples[i] for i in picked], [found[i] for i in picked])
        if split not in self._checked:
            if split == "test":
                self._checked[split] = self._listed("test")
            elif not self._train.validation_split:
                if split == "validation":
                    raise ConfigError("train_input.validation_split: not set, so there is no validation part")
                self._checked[split] = self._masks_kept(*self._listed("train"))
            else:
                listed, checked = self._listed("train")
                # Parts with an image label only stay on the training side: no pixels to score.
                labelled = [i for i, sample in enumerate(listed) if sample.label_only]
                drawn = [i for i, sample in enumerate(listed) if not sample.label_only]
                samples, found = [listed[i] for i in drawn], [checked[i] for i in drawn]
                if len(samples) < 2:
                    raise DataError(f"{Path(listed[0].image).parent}: one training image with a mask cannot also "
                                    "give a validation part (train_input.validation_split)")
                strata = validation_strata(samples, found, len(self._train.classes))
                kept, held = stratified_split(strata, self._train.validation_split, self._seed)
                self._checked["train"] = self._masks_kept([samples[i] for i in kept] + [listed[i] for i in labelled],
                                                          [found[i] for i in kept] + [checked[i] for i in labelled])
                self._checked["validation"] = ([samples[i] for i in held], [found[i] for i in held])
        return self._checked[split]

    def _masks_kept(self, samples: list, found: list[CheckedFile]) -> tuple[list, list[CheckedFile]]:
        """train_input.masked_fraction: the other defective training images lose their masks and
        become image-label parts (image_labels_only), else are left out."""
        spec = self._train
        if spec.masked_fraction >= 1.0:
            return samples, found
        drawn = [checked.defective and not sample.label_only for sample, checked in zip(samples, found)]
        kept = kept_masks(drawn, spec.masked_fraction, self._seed)
        out: tuple[list, list[CheckedFile]] = ([], [])
        for index, (sample, checked) in enumerate(zip(samples, found)):
            if drawn[index] and index not in kept:
                if not spec.image_labels_only:
                    continue
                sample = attrs.evolve(sample, mask=None, encoded="", label_only=True)
            out[0].append(sample)
            out[1].append(checked)
        log.info("train_input.masked_fraction %g: %d of %d defective training images keep their masks%s",
                 spec.masked_fraction, len(kept), sum(drawn),
                 ", the others train the classifier by their label" if spec.image_labels_only else
                 ", the others are left out")
        return out

    def samples(self, split: str) -> list:
        """The checked samples of "train", "validation", "test" or "eval", listed once."""
        return self._split(split)[0]

    def checked(self, split: str) -> list[CheckedFile]:
        """What checking the split's files found, in its order."""
        return self._split(split)[1]

    def training_size(self) -> int:
        return len(self.samples("train"))

    def evaluation_size(self) -> int:
        return len(self.samples("eval"))

    def training_stream(self):
        from unet_defects.adapters.datasets import pipeline

        samples, found = self._split("train")
        return pipeline.training_stream(
            samples, self._train, self._seed, self._augmentation, mask_method=self._mask_method,
            mask_threshold=self._mask_threshold, native_pixels=max(h * w for h, w in (f.size for f in found)),
            groups=self._defect_groups(samples, found), held_classes=self._held_classes(samples, found),
        )

    def _defect_groups(self, samples: list, found: list[CheckedFile]) -> list[int] | None:
        """Each training sample's defect type as a number (-1: no defect), for
        defect_sampling_by: type; None to draw defective images alike."""
        if self._train.defect_sampling_by != "type":
            return None
        types = types_from_names([Path(sample.image).stem for sample in samples])
        if types is None:
            log.warning("train_input.defect_sampling_by: type, but the file names carry no types; every "
                        "defective image is drawn alike")
            return None
        numbers = {kind: number for number, kind in enumerate(sorted(set(types)))}
        # A part with its label only has no defect pixel to centre a draw on.
        return [numbers[kind] if checked.defective and not sample.label_only else -1
                for kind, checked, sample in zip(types, found, samples)]

    def _held_classes(self, samples: list, found: list[CheckedFile]) -> list[tuple[int, ...]] | None:
        """Each training sample's class channels with a defect pixel, for defect_sampling_by:
        class; None with one class (drawn by image) or another choice."""
        spec = self._train
        if spec.defect_sampling_by != "class" or len(spec.classes) < 2:
            return None
        # A part with its label only (masked_fraction keeps its check) has no pixel to centre on.
        held = [() if sample.label_only else checked.classes for sample, checked in zip(samples, found)]
        absent = [name for channel, name in enumerate(spec.class_names) if not any(channel in c for c in held)]
        if absent and spec.defect_sampling > 0:
            log.warning("train_input.defect_sampling_by: class, but no training image holds %s; the defect draws "
                        "are shared among the other classes", ", ".join(absent))
        return held

    def evaluation_names(self, split: str = "eval") -> list[str]:
        """Each evaluation image's file (its folder and name: DAGM's classes reuse names)."""
        return ["/".join(sample.image.parts[-2:]) for sample in self._split(split)[0]]

    def evaluation_stream(self, split: str = "eval"):
        from unet_defects.adapters.datasets import pipeline

        samples, found = self._split(split)
        return pipeline.evaluation_stream(samples, self._eval, mask_method=self._mask_method,
                                          mask_threshold=self._mask_threshold, stride=self._stride,
                                          one_size=len({f.size for f in found}) == 1)
