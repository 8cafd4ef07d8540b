"""Every dataset layout (`train_input.dataset`) as one record: adding a layout is its reader
module in adapters/datasets/, one record here and its reader in entrypoints/readers.py.

A record names the layout, its family (which reader opens it: the family's, or the records
reader for TFRecords), whether its samples are listed from image files (then it can hold a
validation part out and be written to TFRecords), and what follows from its data: how masks
resize, the default brightness augmentation, whether train_input.mask_threshold binarizes
its gray masks. The config check, the container, the readers and the augmentation read these.
"""

from __future__ import annotations

from typing import TypedDict

import attrs

from unet_defects.domain.validation import pick


class _LayoutDefaults(TypedDict, total=False):
    """Layout fields a family of layouts shares."""

    brightness: float
    mask_resize: str


# The reference's Severstal pipeline: a brightness shift of +0.2 with probability 0.5 and masks
# resized nearest-neighbour (RLE masks are 0/1 at full resolution).
SEVERSTAL: _LayoutDefaults = {"brightness": 0.2, "mask_resize": "nearest"}


@attrs.frozen
class Layout:
    name: str  # train_input.dataset
    family: str  # dagm, severstal, folder, annotations, tfrecords or external: where the data comes from
    reads_files: bool = False  # samples listed from image files (validation_split, write-tfrecords)
    tfrecords: bool = False  # read from TFRecords shards written by unet write-tfrecords
    mask_resize: str = "bilinear"  # how masks meet image_shape
    brightness: float = 0.0  # augmentation.brightness when unset
    mask_threshold: bool = False  # train_input.mask_threshold binarizes its masks (gray levels)

    @property
    def reader(self) -> str:
        """Which reader opens it (entrypoints/readers.py): the records reader or its family's."""
        return "tfrecords" if self.tfrecords else self.family


LAYOUTS = (
    Layout("external", "external"),  # a reader supplied by embedding code (override the container's `dataset`)
    Layout("DAGM2007Dataset", "dagm", reads_files=True),
    Layout("DAGM2007TFRecordsDataset", "dagm", tfrecords=True),
    Layout("SeverstalDataset", "severstal", reads_files=True, **SEVERSTAL),
    Layout("SeverstalTFRecordsDataset", "severstal", tfrecords=True, **SEVERSTAL),
    Layout("ImageFolderDataset", "folder", reads_files=True, mask_threshold=True),  # your images/ and masks/
    # Your images and a labelling tool's annotations (adapters/datasets/annotations/)
    Layout("CocoDataset", "annotations", reads_files=True),  # a COCO instances JSON
    Layout("LabelMeDataset", "annotations", reads_files=True),  # a LabelMe .json beside each image
    Layout("LabelStudioDataset", "annotations", reads_files=True),  # a Label Studio JSON export
    Layout("CvatDataset", "annotations", reads_files=True),  # CVAT for images 1.1 XML
    Layout("TFRecordsDataset", "tfrecords", tfrecords=True),  # written by unet write-tfrecords from any of the above
)
LAYOUT_NAMES = tuple(record.name for record in LAYOUTS)
# The layouts read from image files, whose training images can give a validation part.
FILE_LAYOUTS = tuple(record.name for record in LAYOUTS if record.reads_files)
# The layouts read from a labelling tool's annotations: category names are their classes.
ANNOTATION_LAYOUTS = tuple(record.name for record in LAYOUTS if record.family == "annotations")


def layout(name: str) -> Layout:
    """The layout called `name` (train_input.dataset); one line listing the names if none is."""
    return pick(LAYOUTS, "name", name, f"train_input.dataset: unknown value {name!r}", sort=True)
