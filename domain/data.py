"""The input data spec (`train_input` / `eval_input`) and the normalizations it names."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

import attrs
import numpy as np

from unet_defects.domain.defect_classes import category_map as _category_map
from unet_defects.domain.defect_classes import check_classes
from unet_defects.domain.defect_classes import class_names as _class_names
from unet_defects.domain.errors import ConfigError, DataError
from unet_defects.domain.image_labels import check_image_labels
from unet_defects.domain.layouts import FILE_LAYOUTS, layout
from unet_defects.domain.rle import SEVERSTAL_SHAPE
from unet_defects.domain.validation import (
    class_count,
    image_shape,
    int_at_least,
    int_tuple,
    is_bool,
    is_mapping,
    is_str,
    number_in,
    one_of,
    optional,
    to_float,
    to_tuple,
)

# How images meet image_shape: `resize` squashes them to it (the reference); `crop` keeps the
# pixel scale, training on random crops of image_shape and evaluating on whole images.
IMAGE_FITS = ("resize", "crop")
# (scale, offset): normalized = raw * scale + offset, raw in 0..255.
NORMALIZATIONS: dict[str, tuple[float, float]] = {
    "zero_centered": (1.0 / 127.5, -1.0),
    "zero_one": (1.0 / 255.0, 0.0),
}


@attrs.frozen(kw_only=True)
class DataSpec:
    SECTION: ClassVar[str] = "train_input"

    dataset: str = attrs.field(validator=lambda spec, attribute, name: layout(name))  # one of domain/layouts.py
    dataset_path: str = attrs.field(default="", validator=is_str)
    image_shape: tuple[int, ...] = attrs.field(converter=to_tuple, validator=image_shape)
    description: str | None = attrs.field(default=None, validator=optional(is_str))
    shuffle: bool = attrs.field(default=True, validator=is_bool)
    shuffle_buffer_size: int = attrs.field(default=1000, validator=int_at_least(1))
    train_batch_size: int = attrs.field(default=8, validator=int_at_least(1))
    eval_batch_size: int = attrs.field(default=8, validator=int_at_least(1))
    normalize_data_method: str | None = attrs.field(
        default=None, validator=optional(one_of(tuple(NORMALIZATIONS)))
    )
    only_defective_images: bool = attrs.field(default=False, validator=is_bool)
    augment_data: bool = attrs.field(default=True, validator=is_bool)
    class_id: int | None = attrs.field(default=None, validator=optional(int_at_least(1)))
    train_test_split: float | None = attrs.field(
        default=None, converter=to_float, validator=optional(number_in(0.0, 1.0, low_open=True, high_open=True))
    )
    num_parallel_reads: int = attrs.field(default=16, validator=int_at_least(1))
    # The background + the defect classes; unset: the defect classes + 1 (2 for one class).
    num_classes: int | None = attrs.field(default=None, validator=optional(class_count))
    seed: int | None = attrs.field(default=None, validator=optional(int_at_least(0)))
    use_multiple_workers: bool = attrs.field(default=False, validator=is_bool)
    # Beyond the reference: generate a synthetic DAGM-layout dataset here when it is missing.
    synthetic: dict | None = attrs.field(default=None, validator=optional(is_mapping))
    image_fit: str = attrs.field(default="resize", validator=one_of(IMAGE_FITS))
    # Severstal: also train and evaluate on images of train_images/ that have no defect row.
    include_defect_free: bool = attrs.field(default=False, validator=is_bool)
    # Severstal train.csv: skip malformed rows (counted in a warning) instead of stopping.
    skip_bad_rows: bool = attrs.field(default=False, validator=is_bool)
    # ImageFolderDataset: a mask pixel is a defect when its value is >= this (0..255).
    mask_threshold: int = attrs.field(default=128, validator=number_in(1, 255))
    # The share of training samples drawn from defective images; with image_fit: crop those
    # crops are centred on one of their defect pixels. 0: every sample drawn alike.
    defect_sampling: float = attrs.field(default=0.0, converter=to_float, validator=number_in(0.0, 1.0))
    # How the defect-centred draws choose an image: every defective image alike (image), every
    # defect type alike (type: the types file names carry, e.g. MT_Crack_...; image when the
    # names carry none), or every defect class alike (class: with several classes, each draw
    # centred on a pixel of its class; image with one class), so a rare one is drawn as often
    # as a common one.
    defect_sampling_by: str = attrs.field(default="image", validator=one_of(("image", "type", "class")))
    # Hold this share of the training images out as a validation part (stratified by good and
    # defective, and by the defect types file names carry): it chooses the best checkpoint and
    # feeds the learning lines; the test images are then scored only at the end.
    validation_split: float | None = attrs.field(
        default=None, converter=to_float, validator=optional(number_in(0.0, 1.0, low_open=True, high_open=True))
    )
    # The evaluations during training score a seeded sample of this many validation images, drawn
    # with the validation part's strata; calibration and the final scores use the whole part.
    # Unset: the whole part every time.
    validation_sample: int | None = attrs.field(default=None, validator=optional(int_at_least(1)))
    # Several defect types in one model, one sigmoid channel each. Severstal: the ClassIds of
    # train.csv to learn (class_id is the one-class key). Image folders: the class names, and
    # the masks are then label images (pixel value k = the k-th name, 0 = good). Annotations:
    # the categories learnt, in channel order (unset: every category one defect class).
    defect_classes: tuple[int, ...] | None = attrs.field(
        default=None, converter=to_tuple, validator=optional(int_tuple(1, min_length=1))
    )
    defect_class_names: tuple[str, ...] | None = attrs.field(default=None, converter=to_tuple,
                                                             validator=optional(_class_names))
    # Annotations (CocoDataset, ...): category name -> class name, applied before
    # defect_class_names selects; several categories given one name are merged into one class.
    category_map: dict[str, str] | None = attrs.field(default=None, validator=_category_map)
    # Parts with an image-level label only (domain.image_labels): DAGM rows flagged defective
    # without a mask, an own-folders defective/ folder; and the share of masks kept.
    image_labels_only: bool = attrs.field(default=False, validator=is_bool)
    masked_fraction: float = attrs.field(default=1.0, converter=to_float,
                                         validator=number_in(0.0, 1.0, low_open=True))

    def __attrs_post_init__(self) -> None:
        check_classes(self)
        check_image_labels(self)
        if self.validation_split is not None and not layout(self.dataset).reads_files:
            raise ConfigError(f"train_input.validation_split: not supported for {self.dataset} yet; it holds images "
                              f"out of {', '.join(FILE_LAYOUTS)}")

    @property
    def classes(self) -> tuple[int, ...]:
        """The defect classes the model has a channel for, in channel order (one class: (class_id or 1,))."""
        if self.defect_classes:
            return self.defect_classes
        if self.defect_class_names:
            return tuple(range(1, len(self.defect_class_names) + 1))
        return (self.class_id or 1,)

    @property
    def class_names(self) -> tuple[str, ...]:
        """A name per channel: the given names, else `class K`."""
        return self.defect_class_names or tuple(f"class {k}" for k in self.classes)

    @property
    def curve_is_sample(self) -> bool:
        """The evaluations during training score a sample of the validation part (validation_sample)."""
        return bool(self.validation_split and self.validation_sample)

    @property
    def label_masks(self) -> bool:
        """Masks are label images (value k = class k) rather than 0/255 pictures."""
        return self.defect_class_names is not None

    @property
    def class_total(self) -> int:
        """num_classes as the network sees it: the background + one per defect class."""
        return len(self.classes) + 1

    @property
    def height(self) -> int:
        return self.image_shape[0]

    @property
    def width(self) -> int:
        return self.image_shape[1]

    @property
    def channels(self) -> int:
        return self.image_shape[2]

    def split_seed(self, run_seed: int | None) -> int | None:
        """train_input.seed when set, else runconfig.tf_random_seed: what shuffles and splits follow."""
        return self.seed if self.seed is not None else run_seed

    def normalization(self) -> tuple[float, float]:
        """(scale, offset) mapping raw 0..255 pixels to model inputs; identity when unset."""
        if self.normalize_data_method is None:
            return 1.0, 0.0
        return NORMALIZATIONS[self.normalize_data_method]


@attrs.frozen
class Sample:
    """One image file and its mask: a mask file, an RLE string (domain.rle; a tuple of them, one
    per class, with several classes), or neither (defect-free, unless `label_only`: defective
    with no mask drawn, domain.image_labels). The runs number the pixels of `size` (height,
    width): Severstal's 256x1600, or the size an annotation gives; `source` names where they
    were read (a file and its entry), for errors."""

    image: Path
    mask: Path | None
    encoded: str | tuple[str, ...] = ""
    label_only: bool = False
    size: tuple[int, int] = SEVERSTAL_SHAPE
    source: str = "train.csv"

    @property
    def runs(self) -> tuple[str, ...]:
        """The RLE strings, one per class."""
        return self.encoded if isinstance(self.encoded, tuple) else (self.encoded,)

    def check_size(self, shape: tuple[int, ...]) -> None:
        """The image's (height, width) is the size its runs number; column-major numbering
        means the same runs on another height would be another mask."""
        if any(self.runs) and tuple(shape[:2]) != self.size:
            raise DataError(f"{self.image}: is {shape[1]}x{shape[0]}, but {self.source} numbers the pixels of a "
                            f"{self.size[1]}x{self.size[0]} image")


def normalize(raw: np.ndarray, scale_offset: tuple[float, float]) -> np.ndarray:
    scale, offset = scale_offset
    return np.asarray(raw, np.float32) * np.float32(scale) + np.float32(offset)


def denormalize(values: np.ndarray, scale_offset: tuple[float, float]) -> np.ndarray:
    """Model inputs back to uint8 pixels, for pictures."""
    scale, offset = scale_offset
    raw = (np.asarray(values, np.float32) - offset) / scale
    return np.clip(np.rint(raw), 0, 255).astype(np.uint8)
