"""The planning rules: a dataset fingerprint (and this machine's measured speed) in, a complete
own-data configuration out, every choice with its reason.

The rules follow nnU-Net's 2D planning where photographs allow (a patch from the median image
and a cost budget, depth from the patch, foreground oversampling of a third, a cap on the share
of the dataset in one batch); spacing and intensity-clipping rules of CT do not apply. Each
constant below is one rule in numbers, measured on the magnetic tiles, CrackForest and the
rare-defect stand-in (docs/own-data.md has the figures).
"""

from __future__ import annotations

import math
from pathlib import PurePath
from typing import Any

import attrs

from unet_defects.domain.errors import DataError
from unet_defects.domain.fingerprint import DatasetFingerprint
from unet_defects.domain.layouts import layout as dataset_layout
from unet_defects.domain.planned_types import thinnest, type_choices
from unet_defects.domain.planned_verdict import part_verdict
from unet_defects.domain.planning_choice import Choice

# Refused below these: too few images to hold out a validation part and still learn.
MIN_IMAGES = 20
MIN_DEFECTIVE = 4
# The network runs at 1/k scale when the median defect stays this many pixels wide there:
# coarser is k-squared more images per step, which learns faster than resolution does.
MIN_NETWORK_WIDTH = 2.5
DOWNSCALES = (4, 2, 1)
# The patch: the median image at the network's scale, at most this many network pixels a side
# and at least this few.
MAX_PATCH_SIDE = 128
MIN_PATCH_SIDE = 64
# Depth: pool until the bottleneck is this many pixels on the patch's shorter side.
BOTTLENECK_SIDE = 8
MAX_POOLINGS = 5
BASE_FILTERS = 16
MAX_FILTERS = 256
# Batch: as many patches as make this many network pixels (8 patches of 128 x 128), within
# MIN and MAX_BATCH, and at most this share of the training images.
STEP_PIXELS = 8 * 128 * 128
MIN_BATCH, MAX_BATCH = 2, 32
MAX_BATCH_SHARE = 0.1
# Foreground oversampling (nnU-Net's 33 %) when fewer than half the images are defective.
DEFECT_SAMPLING = 0.33
# The validation part (how long a run is, and how often it evaluates: domain.run_duration).
VALIDATION_SPLIT = 0.2
TEST_SPLIT = 0.2  # a single folder: the seeded share held out as test images


@attrs.frozen(kw_only=True)
class DataSplit:
    """Where the training images come from and what is held out as test images."""

    dataset_path: str
    test_folder: bool  # a train/ and test/ layout: test/ is the test split
    description: str
    class_names: tuple[str, ...] | None = None  # the defect types a classes.txt names, label k the k-th
    class_names_file: str = "classes.txt"  # where they were read
    dataset: str = "ImageFolderDataset"  # the layout found (train_input.dataset)


@attrs.frozen(kw_only=True)
class Draft:
    """Every choice but how long to train (which needs a measured step)."""

    choices: tuple[Choice, ...]
    advice: tuple[str, ...]
    patch: tuple[int, int]
    batch: int
    validation_images: int

    def mapping(self) -> dict[str, dict[str, Any]]:
        return sections(self.choices)


def sections(choices: tuple[Choice, ...]) -> dict[str, dict[str, Any]]:
    """The choices as a params mapping, section by section in the order chosen."""
    found: dict[str, dict[str, Any]] = {}
    for choice in choices:
        found.setdefault(choice.section, {})[choice.key] = choice.value
    return found


def check_plannable(fingerprint: DatasetFingerprint, where: str) -> None:
    """What cannot be planned, in one line (DataError)."""
    if fingerprint.problem:
        raise DataError(fingerprint.problem)
    if fingerprint.images < MIN_IMAGES:
        raise DataError(f"{where}: {fingerprint.images} images; a plan needs at least {MIN_IMAGES} (a validation part "
                        "is held out of them)")
    if fingerprint.defective_images == 0:
        raise DataError(f"{where}: no mask marks a defect pixel; a plan needs defective images with masks "
                        "(masks/ with the images' stems, defect pixels bright)")
    if fingerprint.defective_images < MIN_DEFECTIVE:
        raise DataError(f"{where}: {fingerprint.defective_images} defective images; a plan needs at least "
                        f"{MIN_DEFECTIVE}")


def network_downscale(fingerprint: DatasetFingerprint) -> tuple[int, str]:
    width, whose = thinnest(fingerprint)
    for k in DOWNSCALES:
        if k > 1 and width / k >= MIN_NETWORK_WIDTH:
            return k, (f"{whose} is {width:.1f} px wide, still {width / k:.1f} px at 1/{k} scale: the "
                       f"network runs there, {k}x the reach and {k * k}x the images per step")
    return 1, f"{whose} is {width:.1f} px wide: the network keeps the images' own scale"


def round_up(value: float, multiple: int) -> int:
    return int(math.ceil(value / multiple) * multiple)


def patch_size(fingerprint: DatasetFingerprint, downscale: int) -> tuple[tuple[int, int], str]:
    """The crop at the images' own scale: the median image (rounded up to what pooling needs),
    within MIN/MAX_PATCH_SIDE at the network's scale."""
    sides = []
    for median in (fingerprint.height.median, fingerprint.width.median):
        network = min(max(median / downscale, MIN_PATCH_SIDE), MAX_PATCH_SIDE)
        sides.append(network)
    poolings = poolings_for(min(sides))
    stride = 2**poolings
    patch = tuple(round_up(side, stride) * downscale for side in sides)
    whole = patch[0] >= fingerprint.height.median and patch[1] >= fingerprint.width.median
    reason = (f"the median image is {fingerprint.height.median:.0f}x{fingerprint.width.median:.0f}: "
              + ("crops of it hold most images whole" if whole else
                 f"crops of at most {MAX_PATCH_SIDE} px a side at the network's scale keep steps affordable"))
    return (int(patch[0]), int(patch[1])), reason


def poolings_for(side: float) -> int:
    return max(2, min(MAX_POOLINGS, int(math.floor(math.log2(max(side, 1) / BOTTLENECK_SIDE)))))


def filters_for(poolings: int) -> tuple[list[int], list[int]]:
    encoder = [min(BASE_FILTERS * 2**level, MAX_FILTERS) for level in range(poolings + 1)]
    return encoder, encoder[-2::-1]


def batch_size(training_images: int, network_pixels: int) -> tuple[int, str]:
    wanted = min(MAX_BATCH, max(MIN_BATCH, STEP_PIXELS // max(network_pixels, 1)))
    cap = max(MIN_BATCH, int(MAX_BATCH_SHARE * training_images))
    if wanted > cap:
        return cap, (f"{wanted} patches would be more than {MAX_BATCH_SHARE:.0%} of the {training_images} training "
                     "images in one step")
    return wanted, f"{wanted} patches make about {STEP_PIXELS:,} network pixels a step"


def held_out(fingerprint: DatasetFingerprint, layout: DataSplit) -> tuple[int, int]:
    """(training images, validation images) of the planned split."""
    validation = max(1, round(VALIDATION_SPLIT * fingerprint.images))
    return fingerprint.images - validation, validation


def draft(fingerprint: DatasetFingerprint, layout: DataSplit) -> Draft:
    """Every choice a run needs but its length, each with its reason."""
    fp = fingerprint
    downscale, downscale_reason = network_downscale(fp)
    patch, patch_reason = patch_size(fp, downscale)
    poolings = poolings_for(min(patch) / downscale)
    encoder, decoder = filters_for(poolings)
    training, validation = held_out(fp, layout)
    batch, batch_reason = batch_size(training, (patch[0] // downscale) * (patch[1] // downscale))
    per_image = fp.exposure_varies
    several = fp.several_classes
    sampling = DEFECT_SAMPLING if fp.defective_share < 0.5 or several else 0.0
    choices = [
        Choice("train_input", "dataset", layout.dataset, "the layout found in the folder"),
        Choice("train_input", "dataset_path", layout.dataset_path, layout.description),
        Choice("train_input", "image_shape", [patch[0], patch[1], 1], patch_reason),
        Choice("train_input", "image_fit", "crop",
               "crops at the images' own scale in training, whole images in evaluation"),
        *((Choice("train_input", "mask_threshold", fp.defect_level,
                  f"mask pixels from {fp.defect_level} on are defect (two-level masks)"
                  if fp.mask_kind == "binary" else "label masks: every label above 0 is defect when the types are "
                  "merged"),) if dataset_layout(layout.dataset).mask_threshold else ()),  # annotations draw masks
        *type_choices(fp, "in the label masks, label k the k-th name" if dataset_layout(layout.dataset).mask_threshold
                      else f"among the categories of {PurePath(layout.class_names_file).name}"),
        Choice("train_input", "defect_sampling", sampling,
               (f"{fp.defective_share:.0%} of the images are defective: a third of the crops are centred on a "
                "defect (nnU-Net's foreground oversampling)") if sampling and not several else
               (f"{len(fp.classes)} defect types: a third of the crops are centred on a defect, whatever the share "
                f"of defective images ({fp.defective_share:.0%})") if sampling else
               f"{fp.defective_share:.0%} of the images are defective: crops are drawn alike"),
        Choice("train_input", "defect_sampling_by", "class" if several else "image",
               ("the centred crops are shared equally among the types, each centred on a pixel of its type: a rare "
                "type is drawn as often as a common one (nnU-Net's per-class foreground oversampling)") if several
               else "every defective image is drawn alike" + (
                   f"; `type` would share the draws among the {sum(1 for _, d in fp.types.values() if d)} defect "
                   "types the names carry (measured no better on the magnetic tiles: docs/own-data.md)"
                   if fp.types and sampling else "")),
        Choice("train_input", "validation_split", VALIDATION_SPLIT,
               f"{validation} images held out, stratified by good/defective"
               + (" and by the types each mask holds" if several else "")
               + (f" and by the {len(fp.types)} types the file names carry" if fp.types else "")
               + ": they draw the learning curve and calibrate the decision; the test images are scored only at "
               "the end"),
        Choice("train_input", "seed", 0, "the same split and crops every run"),
        Choice("train_input", "normalize_data_method", "zero_centered", "pixels 0..255 to -1..1"),
        Choice("train_input", "train_batch_size", batch, batch_reason),
        Choice("train_input", "eval_batch_size", 1, "whole images of several sizes, one at a time"),
        Choice("train_input", "augment_data", True, "flips (and turns) below"),
    ]
    if not layout.test_folder:
        choices.append(Choice("train_input", "train_test_split", 1 - TEST_SPLIT,
                              f"no test/ folder: a seeded {TEST_SPLIT:.0%} of the images are the test split"))
    turns = "none" if fp.directional else "all"
    choices += [
        Choice("augmentation", "horizontal_flip", True, "parts look alike mirrored"),
        Choice("augmentation", "vertical_flip", True, "parts look alike mirrored"),
        Choice("augmentation", "rotations", turns,
               f"the texture runs one way (gradient ratio {fp.texture_direction:.2f}): quarter turns would show "
               "stripes the camera never sees" if fp.directional else
               f"the texture has no direction (gradient ratio {fp.texture_direction:.2f}): all quarter turns"),
        Choice("augmentation", "brightness", 0.0 if per_image else 0.1,
               "each image is standardized in the network" if per_image else "exposure varies a little"),
        Choice("augmentation", "contrast", 0.0 if per_image else 0.1,
               "each image is standardized in the network" if per_image else "gain varies a little"),
        Choice("model", "encoder_filters", encoder,
               f"{poolings} poolings leave a bottleneck of {min(patch) // downscale // 2**poolings} px on the "
               f"crop's shorter side; {BASE_FILTERS} filters doubling per level (a CPU's budget)"),
        Choice("model", "decoder_filters", decoder, "the encoder's widths back up"),
        Choice("model", "input_downscale", downscale, downscale_reason),
        Choice("model", "input_standardization", "per_image" if per_image else "none",
               (f"image means vary {fp.exposure_variation:.2f} x the spread within an image: each image to zero "
                "mean and unit spread") if per_image else
               f"exposure is even (means vary {fp.exposure_variation:.2f} x the spread within an image)"),
        Choice("model", "data_format", "channels_last", "the CPU's fast layout"),
        Choice("model", "normalization", "batch" if batch >= 4 else "group",
               "batch statistics of the blocks" if batch >= 4 else "group norm: a batch this small "
               "gives poor batch statistics"),
        Choice("model", "loss", "bce_dice",
               f"defects are {fp.defect_pixel_share:.2%} of the pixels: Dice makes them weigh as much as the "
               "background" + ("; Dice is computed per type and averaged, so a rare type weighs as much as a common "
                               "one" if several else "")),
        Choice("model", "mixed_precision", True, "bfloat16 where the CPU has it, else float32"),
        Choice("model", "eval_thresholds", [0.25, 0.5, 0.75], "scores at other thresholds too"),
        Choice("model", "inference_tta", "flip",
               "predict, the Inspector, the server, evaluation and calibration average the image and its two mirrors "
               "(trained with both flips): three network passes an image, for a better ranked and decided part (on "
               "the magnetic tiles image AUROC 0.941 -> 0.953 and image F1 0.78 -> 0.84: docs/own-data.md)"),
        *part_verdict(fp),
        Choice("optimizer", "optimizer_type", "adam", "Adam"),
        Choice("runconfig", "mode", "train_and_eval",
               "train, evaluating each checkpoint on the validation part, then the test images once"),
        Choice("runconfig", "model_dir", model_dir_for(layout.dataset_path),
               "checkpoints, scores and pictures; training resumes here"),
        Choice("runconfig", "keep_best", None,
               "the last checkpoint, trained to the end of its annealed schedule: on the magnetic tiles the best "
               "validation Dice picked a checkpoint from the run's high learning rate that ranked the test parts worse "
               "(image AUROC 0.86 against 0.94 to 0.95 for the last three: docs/own-data.md)"),
        Choice("runconfig", "calibrate", True,
               "at the end, the decision (threshold, min_area and the part verdict) is calibrated on the validation "
               "part and written to calibration.json, before the test images are scored; predict, the Inspector, "
               "exports and the server use it"),
        Choice("runconfig", "image_recall", None,
               "the part verdict with the best image F1; a share of defective parts to find (e.g. 0.99) gives the "
               "verdict with the fewest false alarms that finds it"),
        Choice("runconfig", "log_step_count_steps", 50, "a log line every 50 steps"),
        Choice("runconfig", "save_summary_steps", 50, "loss curve points every 50 steps"),
    ]
    return Draft(choices=tuple(choices), advice=advice(fp, downscale, patch), patch=patch, batch=batch,
                 validation_images=validation)


def model_dir_for(dataset_path: str) -> str:
    name = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in PurePath(dataset_path).name) or "dataset"
    return f"model_dir_unet_{name}"


def advice(fp: DatasetFingerprint, downscale: int, patch: tuple[int, int]) -> tuple[str, ...]:
    """The two settings most likely to help this dataset when the model does not learn."""
    tips = []
    if fp.defect_contrast is not None and fp.defect_contrast < 1.0:
        tips.append(f"a longer runconfig.time_budget (defects differ from their surroundings by "
                    f"{fp.defect_contrast:.2f} x the image's spread: faint defects learn slowly)")
    if fp.component_width.high > 4 * min(patch) and downscale < 4:
        tips.append(f"model.input_downscale: {downscale * 2} (the widest defects, {fp.component_width.high:.0f} px, "
                    "span more than the network sees)")
    if fp.defective_share < 0.2:
        tips.append("train_input.defect_sampling: 0.5 (few defective images)")
    tips.append("model.loss: bce_tversky (weighs missed defect pixels more than false alarms)")
    tips.append("a longer runconfig.time_budget")
    unique = list(dict.fromkeys(tips))
    return tuple(unique[:2])
