"""Each defect type of label masks measured apart (`unet plan`), and the checks that keep a wrong
mask from being trained on.

Label masks are masks of small integers, 0 the background and k the k-th defect type, as
labelling tools export them. A dataset is labelled when its masks hold more than one value
above 0 over all its files: a mask may hold one type only ({0, 2}). A `classes.txt` (one name a
line, line k naming label k) names the types; without one they are `class_1`, `class_2`, ...

Lossy noise: a JPEG-saved label image smears each region's edge into the neighbouring values
(0 and 3 become 0, 1, 2, 3 at the edge) and rings specks of one value past the top one. Such a
value has no region of its own: most of its pixels in a mask lie between a lower and a higher
value (an edge's in-between), or it comes in specks of a few pixels bordering another label. A
real type does neither, however thin, even nested in another (a crack across a stain borders
the stain, but only on the lower side, and is not a speck).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import attrs
import numpy as np

from unet_defects.domain.quantiles import Quantiles

if TYPE_CHECKING:
    from unet_defects.domain.fingerprint import ImageFacts

# A mask is a label image when it holds 0 and a few small integers (annotation tools' index PNGs).
MAX_LABEL = 20
# A label value of a mask is lossy noise when more than this share of its pixels lie between a
# lower and a higher value, or border another label in specks of at most SPECK_AREA pixels.
NOISE_SHARE = 0.5
SPECK_AREA = 4


@attrs.frozen(kw_only=True)
class LabelFacts:
    """One label value of one mask: its pixels, its 8-connected components, and how many of its
    pixels border a pixel of another label above 0."""

    value: int
    pixels: int
    component_areas: tuple[int, ...] = ()
    component_widths: tuple[float, ...] = ()
    bordering: int = 0
    between: int = 0  # pixels with a lower-valued and a higher-valued neighbour (0 counts as lower)

    @property
    def lossy(self) -> bool:
        """Its pixels look like a lossy codec's smear, not a type (the module's docstring)."""
        specks = bool(self.component_areas) and float(np.median(self.component_areas)) <= SPECK_AREA
        return self.between > NOISE_SHARE * self.pixels or (specks and self.bordering > NOISE_SHARE * self.pixels)


@attrs.frozen(kw_only=True)
class ClassFingerprint:
    """A defect type over the training images: where it is, how much, how wide."""

    label: int
    name: str
    images: int  # images holding it
    pixels: int
    components: int
    component_area: Quantiles
    component_width: Quantiles

    def as_dict(self) -> dict:
        return {"label": self.label, "name": self.name, "images": self.images, "pixels": self.pixels,
                "components": self.components, "component_area": self.component_area.as_dict(0),
                "component_width": self.component_width.as_dict(1)}

    def describe(self, total_images: int) -> str:
        if not self.images:
            return f"{self.label} {self.name}: no defect in the training images (it cannot learn)"
        return (f"{self.label} {self.name}: {self.images} images ({self.images / max(total_images, 1):.0%}), "
                f"{self.pixels:,} px, {self.components} components, width median "
                f"{self.component_width.median:.1f} px (a tenth under {self.component_width.low:.1f})")


def default_names(count: int) -> tuple[str, ...]:
    return tuple(f"class_{k}" for k in range(1, count + 1))


def label_values(facts: Sequence[ImageFacts]) -> tuple[int, ...]:
    """The label values above 0 over every mask of small integers."""
    return tuple(sorted({label.value for f in facts for label in f.labels}))


def class_fingerprints(facts: Sequence[ImageFacts], names: Sequence[str]) -> tuple[ClassFingerprint, ...]:
    """Each named type (label k = names[k - 1]) measured over the images."""
    found = []
    for label, name in enumerate(names, 1):
        mine = [entry for f in facts for entry in f.labels if entry.value == label]
        areas = [a for entry in mine for a in entry.component_areas]
        found.append(ClassFingerprint(
            label=label, name=name, images=len(mine), pixels=sum(entry.pixels for entry in mine),
            components=len(areas), component_area=Quantiles.of(areas),
            component_width=Quantiles.of([w for entry in mine for w in entry.component_widths])))
    return tuple(found)


def label_problem(facts: Sequence[ImageFacts], names: Sequence[str] | None, names_file: str,
                  lossy_check: bool = True) -> str | None:
    """Why label masks cannot be read as the named types, in one line naming a mask file; None
    when they can. A lossy mask first: its stray values would read as unnamed types."""
    for f in facts if lossy_check else ():
        smeared = [entry.value for entry in f.labels if entry.lossy]
        if smeared:
            return (f"{f.mask_file or f.name}: a label mask that looks saved lossily (values "
                    f"{list(f.label_values)}; value {smeared[0]} lies along the edges between other "
                    "values or in specks beside them, as a JPEG's smeared edges do); save label masks losslessly "
                    "(PNG)")
    values = label_values(facts)
    if names is not None and values and max(values) > len(names):
        unnamed = [v for v in values if v > len(names)]
        where = next(f.mask_file or f.name for f in facts if any(entry.value in unnamed for entry in f.labels))
        return (f"{where}: label value{'s' if len(unnamed) > 1 else ''} {', '.join(map(str, unnamed))} "
                f"{'are' if len(unnamed) > 1 else 'is'} not named in {names_file} ({len(names)} names, for "
                f"values 1..{len(names)})")
    return None


def names_problem(names: Sequence[str] | None, labelled: bool, names_file: str) -> str | None:
    """classes.txt naming several types where the masks hold one (two-level masks)."""
    if names is not None and len(names) > 1 and not labelled:
        return (f"{names_file}: names {len(names)} defect types, but the masks hold one (two levels, e.g. 0/255); "
                "save label masks (value k for the type on line k) or remove the file")
    return None


def parse_class_names(text: str, where: str) -> tuple[str, ...]:
    """classes.txt: one name a line, line k naming label k (trailing blank lines and spaces
    ignored); an empty or repeated name is a DataError naming the line."""
    from unet_defects.domain.errors import DataError

    lines = [line.strip() for line in text.lstrip("\ufeff").rstrip().splitlines()]
    if not lines or lines == [""]:
        raise DataError(f"{where}: names no defect type (one name a line, line k for label k)")
    for number, name in enumerate(lines, 1):
        if not name:
            raise DataError(f"{where}: line {number} is empty; line k names label k, so every line up to the last "
                            "needs a name")
        if name in lines[:number - 1]:
            raise DataError(f"{where}: line {number} repeats the name {name!r} of line {lines.index(name) + 1}")
    return tuple(lines)
