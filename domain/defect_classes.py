"""Which defect classes a dataset's model learns, and the checks on the keys that name them.

One class is the reference's task (`train_input.class_id` picks Severstal's ClassId or DAGM's
ClassN folder). Several classes give one sigmoid channel each: `defect_classes` for Severstal's
ClassIds, `defect_class_names` for image folders whose masks are label images and for the
categories of annotations (which `category_map` may rename or merge first).
"""

from __future__ import annotations

from typing import Any

from unet_defects.domain.errors import ConfigError
from unet_defects.domain.layouts import layout


def class_names(instance: Any, attribute: Any, value: Any) -> None:
    """defect_class_names: distinct, non-empty names."""
    if not isinstance(value, tuple) or not value or not all(isinstance(n, str) and n.strip() for n in value):
        raise ConfigError(f"train_input.defect_class_names: expected a list of class names, got {value!r}")
    if len(set(value)) != len(value):
        twice = next(n for n in value if value.count(n) > 1)
        raise ConfigError(f"train_input.defect_class_names: {twice!r} is named twice")


def check_classes(spec: Any) -> None:
    """The class keys of a DataSpec agree with each other and with its dataset."""
    record = layout(spec.dataset)
    family = record.family
    if spec.defect_classes is not None:
        if spec.class_id is not None:
            raise ConfigError("train_input.defect_classes: set it or train_input.class_id (one class), not both")
        if family == "dagm":
            raise ConfigError("train_input.defect_classes: DAGM has one defect type per ClassN folder; pick the "
                              "folder with train_input.class_id")
        if family != "severstal":
            raise ConfigError(f"train_input.defect_classes: names Severstal ClassIds; {spec.dataset} "
                              + ("takes train_input.defect_class_names" if family == "folder" else "has one class"))
        if len(set(spec.defect_classes)) != len(spec.defect_classes):
            raise ConfigError(f"train_input.defect_classes: a class is listed twice in {list(spec.defect_classes)}")
    if spec.defect_class_names is not None and family not in ("folder", "annotations"):
        raise ConfigError(f"train_input.defect_class_names: for ImageFolderDataset label masks and annotations' "
                          f"categories; {spec.dataset} "
                          + ("takes train_input.defect_classes" if family == "severstal" else "has one class"))
    if spec.category_map is not None and family != "annotations":
        raise ConfigError(f"train_input.category_map: renames the categories of annotations (CocoDataset and the "
                          f"other annotation layouts); {spec.dataset} has none")
    if record.tfrecords and len(spec.classes) > 1:
        raise ConfigError(f"train_input.defect_classes: {spec.dataset} holds one mask per image; read the "
                          "images with SeverstalDataset for several classes")
    if spec.num_classes is not None and spec.num_classes != spec.class_total:
        count = spec.class_total - 1
        named = f"{count} defect classes" if count > 1 else "one defect class"
        raise ConfigError(f"train_input.num_classes: must be {spec.class_total} ({named} + 1 for the background), "
                          f"got {spec.num_classes}")


def category_map(instance: Any, attribute: Any, value: Any) -> None:
    """category_map: a mapping of category names to class names."""
    if value is None:
        return
    if not isinstance(value, dict) or not value or not all(
            isinstance(k, str) and isinstance(v, str) and k.strip() and v.strip() for k, v in value.items()):
        raise ConfigError(f"train_input.category_map: expected a mapping of category names to class names, "
                          f"got {value!r}")
