"""What a dataset is like, measured once (`unet plan`): sizes, shares, defect geometry,
intensities. Per image, the facts come from adapters.fingerprinting; here they are classified
and summed up in plain numbers that the planning rules (domain.planning) read.

Definitions:
- a defect component is 8-connected; its width is the diameter of the largest disc inside it
  (twice the largest distance from a defect pixel to the background), so a thin crack is
  narrow however long it is.
- defect contrast: how far a defect's mean gray level sits from the rest of its image, in units
  of the image's own spread (standard deviation); below 1 a defect hides in the texture.
- exposure variation: the spread of the images' mean gray levels over the median spread within
  an image; above EXPOSURE_VARIES photographs differ more from each other than within one.
- texture direction: the larger of the mean absolute gray-level steps along x and along y over
  the smaller; above DIRECTIONAL the texture runs one way (stripes, grinding marks).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import attrs
import numpy as np

from unet_defects.domain.class_fingerprint import (
    MAX_LABEL,
    ClassFingerprint,
    LabelFacts,
    class_fingerprints,
    default_names,
    label_problem,
    label_values,
    names_problem,
)
from unet_defects.domain.errors import DataError
from unet_defects.domain.quantiles import Quantiles

# A mask is "two levels" when at most this share of its pixels sits between the darkest and the
# brightest tenth of its range (JPEG-saved masks smear their edges a little).
SMEAR_SHARE = 0.02
EXPOSURE_VARIES = 0.25
DIRECTIONAL = 1.3


def mask_levels(mask: np.ndarray) -> tuple[str, tuple[int, ...]]:
    """("binary" | "labels" | "empty" | "other", the label values for "labels")."""
    mask = np.asarray(mask)
    values = np.unique(mask)
    if values.size == 1:
        return ("empty" if values[0] == 0 else "binary"), ()
    low, high = float(values[0]), float(values[-1])
    if values.size == 2:
        return "binary", ()
    if low == 0 and high <= MAX_LABEL and np.all(values == np.round(values)):
        return "labels", tuple(int(v) for v in values[1:])
    margin = (high - low) / 10
    between = np.count_nonzero((mask > low + margin) & (mask < high - margin))
    if between <= SMEAR_SHARE * mask.size:
        return "binary", ()
    return "other", ()


@attrs.frozen(kw_only=True)
class ImageFacts:
    """One image and its mask as the fingerprint sees them (gray levels 0..255)."""

    name: str
    height: int
    width: int
    colour: bool = False
    mean: float = 0.0
    spread: float = 0.0
    mask: str = "empty"  # mask_levels, or "none" when the image has no mask file
    defect_pixels: int = 0
    component_areas: tuple[int, ...] = ()
    component_widths: tuple[float, ...] = ()
    defect_contrast: float | None = None
    step_x: float = 0.0  # mean absolute gray-level step along x
    step_y: float = 0.0
    kind: str = ""  # the defect type the file name carries, when it carries one
    mask_high: int = 0  # the mask's largest value (255 for 0/255 masks, 1 for 0/1, the top label)
    labels: tuple[LabelFacts, ...] = ()  # each value above 0 of a mask of small integers
    mask_file: str = ""  # the mask's path, for messages about it

    @property
    def defective(self) -> bool:
        return self.defect_pixels > 0

    @property
    def label_values(self) -> tuple[int, ...]:
        """The mask's values above 0, for a mask of small integers."""
        return tuple(label.value for label in self.labels)


@attrs.frozen(kw_only=True)
class DatasetFingerprint:
    images: int
    defective_images: int
    height: Quantiles
    width: Quantiles
    colour_share: float
    mean_gray: float
    exposure_variation: float
    defect_coverage: Quantiles  # share of a defective image's pixels that are defect
    defect_pixel_share: float  # defect pixels over all pixels
    components: int
    component_area: Quantiles
    component_width: Quantiles
    defect_contrast: float | None  # median over defective images, in units of the image's spread
    texture_direction: float
    mask_kind: str  # binary, labels, or other (neither: not plannable)
    label_values: tuple[int, ...] = ()
    types: dict[str, tuple[int, int]] = attrs.field(factory=dict)  # type -> (images, defective)
    # label masks: each defect type (label k, named by classes.txt or class_k) measured apart
    classes: tuple[ClassFingerprint, ...] = ()
    problem: str | None = None  # why the masks cannot be read as defects (mask_problem)
    # training's train_input.mask_threshold: the mask value from which a pixel is defect
    # (1 for label images and 0/1 masks, 128 for 0/255 masks)
    defect_level: int = 128

    @property
    def defective_share(self) -> float:
        return self.defective_images / self.images if self.images else 0.0

    @property
    def several_classes(self) -> bool:
        return len(self.classes) > 1

    @property
    def exposure_varies(self) -> bool:
        return self.exposure_variation > EXPOSURE_VARIES

    @property
    def directional(self) -> bool:
        return self.texture_direction > DIRECTIONAL

    def as_dict(self) -> dict:
        """Plain values for the plan's record (rounded: a fingerprint, not a measurement log)."""
        return {
            "images": self.images, "defective_images": self.defective_images,
            "defective_share": round(self.defective_share, 4),
            "height": self.height.as_dict(0), "width": self.width.as_dict(0),
            "colour_share": round(self.colour_share, 3), "mean_gray": round(self.mean_gray, 1),
            "exposure_variation": round(self.exposure_variation, 3),
            "defect_coverage": self.defect_coverage.as_dict(4), "defect_pixel_share": round(self.defect_pixel_share, 5),
            "components": self.components, "component_area": self.component_area.as_dict(0),
            "component_width": self.component_width.as_dict(1),
            "defect_contrast": None if self.defect_contrast is None else round(self.defect_contrast, 3),
            "texture_direction": round(self.texture_direction, 3), "mask_kind": self.mask_kind,
            "label_values": list(self.label_values), "defect_level": self.defect_level,
            "types": {name: {"images": n, "defective": d} for name, (n, d) in sorted(self.types.items())},
            **({"classes": [c.as_dict() for c in self.classes]} if self.classes else {}),
        }


def mask_problem(facts: Sequence[ImageFacts], where: str, labelled: bool) -> str | None:
    """Why the masks cannot be read as defects, in one line; None when they can."""
    odd = [f.name for f in facts if f.mask == "other"]
    if odd:
        return (f"{where}: {len(odd)} masks hold neither two levels nor class labels (the first: {odd[0]}); save "
                "masks as 0/255 or as label images 0, 1, 2, ...")
    # a mask holding one type of a label dataset is two-level too ({0, 2}): not a conflict
    two_level = [f for f in facts if f.mask == "binary" and f.mask_high > MAX_LABEL]
    # label masks ({0, 2} alone is one) beside 0/255 ones; 0/1 beside 0/255 is two-level throughout
    labels_seen = labelled or any(label.value > 1 for f in facts for label in f.labels)
    if labels_seen and two_level:
        first = next(f for f in facts if f.labels and (labelled or f.mask_high > 1))
        return (f"{where}: some masks are label images ({first.mask_file or first.name}: values "
                f"{list(first.label_values)}) and others two-level "
                f"({two_level[0].mask_file or two_level[0].name}: 0 and {two_level[0].mask_high}); use one kind")
    return None


def defect_level(labelled: bool, highs: Sequence[int]) -> int:
    """The mask value from which a pixel is defect: any label, or the upper half of the
    smallest top value among two-level masks (0/255: 128; 0/1: 1)."""
    if labelled or not highs:
        return 1 if labelled else 128
    return max(1, int(np.ceil(min(highs) / 2)))


def summarize(facts: Sequence[ImageFacts], where: str = "dataset", names: Sequence[str] | None = None,
              names_file: str = "classes.txt", drawn: bool = False) -> DatasetFingerprint:
    """The fingerprint of every image's facts (domain.planning.check_plannable says whether it
    can be planned). `names`: the defect types' names (classes.txt), label k the k-th; `drawn`:
    the masks were drawn from annotations' shapes (no file that could have been saved lossily;
    two categories may touch)."""
    if not facts:
        raise DataError(f"{where}: no images")
    kinds = Counter(f.mask for f in facts)
    values = label_values(facts)
    labelled = len(values) > 1  # over the dataset: one mask may hold one type only ({0, 2})
    class_names = (tuple(names) if names is not None else default_names(max(values))) if labelled else ()
    highs = [f.mask_high for f in facts if f.defective]
    defective = [f for f in facts if f.defective]
    pixels = sum(f.height * f.width for f in facts)
    areas = [a for f in defective for a in f.component_areas]
    widths = [w for f in defective for w in f.component_widths]
    contrasts = [abs(f.defect_contrast) for f in defective if f.defect_contrast is not None]
    spreads = np.median([f.spread for f in facts])
    means = np.asarray([f.mean for f in facts])
    steps_x, steps_y = np.mean([f.step_x for f in facts]), np.mean([f.step_y for f in facts])
    direction = max(steps_x, steps_y) / max(min(steps_x, steps_y), 1e-6)
    types: dict[str, tuple[int, int]] = {}
    for f in facts:
        if f.kind:
            n, d = types.get(f.kind, (0, 0))
            types[f.kind] = (n + 1, d + f.defective)
    problem = (mask_problem(facts, where, labelled) or names_problem(names, labelled, names_file)
               or (label_problem(facts, names, names_file, lossy_check=not drawn) if labelled else None))
    return DatasetFingerprint(
        images=len(facts), defective_images=len(defective),
        height=Quantiles.of([f.height for f in facts]), width=Quantiles.of([f.width for f in facts]),
        colour_share=sum(f.colour for f in facts) / len(facts),
        mean_gray=float(means.mean()), exposure_variation=float(means.std() / max(spreads, 1e-6)),
        defect_coverage=Quantiles.of([f.defect_pixels / (f.height * f.width) for f in defective]),
        defect_pixel_share=sum(f.defect_pixels for f in facts) / pixels,
        components=len(areas), component_area=Quantiles.of(areas), component_width=Quantiles.of(widths),
        defect_contrast=float(np.median(contrasts)) if contrasts else None,
        texture_direction=float(direction),
        mask_kind="other" if kinds["other"] else ("labels" if labelled else "binary"),
        label_values=values if labelled else (),
        defect_level=defect_level(labelled, highs),
        types=types,
        classes=class_fingerprints(facts, class_names) if labelled and problem is None else (),
        problem=problem,
    )
