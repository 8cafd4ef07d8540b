"""Measuring images and masks for the dataset fingerprint (domain.fingerprint): imageio reads,
scipy.ndimage labels the defect components and measures their widths."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from unet_defects.adapters.components import EIGHT_NEIGHBOURS, label_components
from unet_defects.adapters.image_headers import is_palette_png
from unet_defects.adapters.images import read_mask
from unet_defects.domain import rle
from unet_defects.domain.class_fingerprint import MAX_LABEL, LabelFacts
from unet_defects.domain.data import Sample
from unet_defects.domain.drift import gray_statistics
from unet_defects.domain.errors import DataError
from unet_defects.domain.fingerprint import ImageFacts, mask_levels
from unet_defects.domain.gray import to_gray_uint8


def _read(path: Path) -> np.ndarray:
    import imageio.v3 as iio

    try:
        return np.asarray(iio.imread(path))
    except FileNotFoundError:
        raise DataError(f"{path}: image file not found") from None
    except Exception as error:  # imageio raises many types for broken files
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise DataError(f"{path}: cannot read image ({reason})") from None


def _is_colour(raw: np.ndarray) -> bool:
    if raw.ndim != 3 or raw.shape[2] < 3:
        return False
    return not (np.array_equal(raw[..., 0], raw[..., 1]) and np.array_equal(raw[..., 1], raw[..., 2]))


def defect_pixels(mask: np.ndarray, kind: str) -> np.ndarray:
    """Which pixels of a mask are defect: any label but 0, or the upper half of a two-level mask."""
    mask = np.asarray(mask)
    if kind == "labels":
        return mask > 0
    if kind == "empty":
        return np.zeros(mask.shape, bool)
    return mask >= 0.5 * max(float(mask.max()), 1.0)


def component_geometry(defects: np.ndarray) -> tuple[tuple[int, ...], tuple[float, ...]]:
    """Each 8-connected component's area, and its width: the diameter of the largest disc inside
    it (a one-pixel line is 1 wide)."""
    from scipy import ndimage

    labels, count = label_components(defects)
    if not count:
        return (), ()
    areas = np.bincount(labels.ravel(), minlength=count + 1)[1:]
    distance = ndimage.distance_transform_edt(defects)
    deepest = ndimage.maximum(distance, labels, index=np.arange(1, count + 1))
    widths = np.maximum(2.0 * np.asarray(deepest, np.float64) - 1.0, 1.0)
    return tuple(int(a) for a in areas), tuple(round(float(w), 2) for w in widths)


def near(pixels: np.ndarray) -> np.ndarray:
    """The pixels and their 8 neighbours."""
    from scipy import ndimage

    return ndimage.binary_dilation(pixels, structure=EIGHT_NEIGHBOURS)


def label_facts(mask: np.ndarray, whole: tuple[tuple[int, ...], tuple[float, ...]] | None = None
                ) -> tuple[LabelFacts, ...]:
    """Each value above 0 of a mask of small integers measured apart (domain.class_fingerprint);
    () for any other mask. `whole`: the geometry of all its defect pixels, already measured,
    which is the one value's of a mask holding one ({0, k}: most masks)."""
    mask = np.asarray(mask)
    values = np.unique(mask)
    if values[-1] > MAX_LABEL or not np.all(values == np.round(values)):
        return ()
    above = [int(v) for v in values if v > 0]
    if len(above) == 1 and whole is not None:
        areas, widths = whole
        return (LabelFacts(value=above[0], pixels=int(np.count_nonzero(mask)), component_areas=areas,
                           component_widths=widths),)
    found = []
    for value in above:
        mine = mask == value
        others = (mask > 0) & ~mine
        bordering = int(np.count_nonzero(mine & near(others))) if others.any() else 0
        higher = mask > value
        between = int(np.count_nonzero(mine & near(mask < value) & near(higher))) if higher.any() else 0
        areas, widths = component_geometry(mine)
        found.append(LabelFacts(value=value, pixels=int(np.count_nonzero(mine)), component_areas=areas,
                                component_widths=widths, bordering=bordering, between=between))
    return tuple(found)


def measure(image: np.ndarray, mask: np.ndarray | None, name: str, kind: str = "",
            colour: bool = False, mask_file: str = "") -> ImageFacts:
    """The facts of one gray image (H, W) and its raw mask (None: no mask file)."""
    mean, spread = gray_statistics(np.asarray(image))  # the drift reference's figures too
    gray = np.asarray(image, np.float64)
    steps = dict(step_x=float(np.abs(np.diff(gray, axis=1)).mean()) if gray.shape[1] > 1 else 0.0,
                 step_y=float(np.abs(np.diff(gray, axis=0)).mean()) if gray.shape[0] > 1 else 0.0)
    base = dict(name=name, height=int(gray.shape[0]), width=int(gray.shape[1]), colour=colour,
                mean=mean, spread=spread, kind=kind, mask_file=mask_file, **steps)
    if mask is None:
        return ImageFacts(mask="none", **base)
    if mask.shape != gray.shape:
        raise DataError(f"{name}: mask is {mask.shape[1]}x{mask.shape[0]} but its image is "
                        f"{gray.shape[1]}x{gray.shape[0]}")
    levels, _ = mask_levels(mask)
    defects = defect_pixels(mask, levels)
    count = int(np.count_nonzero(defects))
    areas, widths = component_geometry(defects) if count else ((), ())
    contrast = None
    if 0 < count < defects.size:
        contrast = float((gray[defects].mean() - gray[~defects].mean()) / max(spread, 1e-6))
    return ImageFacts(mask=levels, defect_pixels=count, component_areas=areas,
                      component_widths=widths, defect_contrast=contrast, mask_high=int(np.max(mask)),
                      labels=label_facts(mask, (areas, widths)) if count else (), **base)


def _palette(path: Path) -> bool:
    """An indexed-colour PNG, by its first bytes (a file that cannot be opened is left to the reader's error)."""
    try:
        with open(path, "rb") as handle:
            return is_palette_png(handle.read(26))
    except OSError:
        return False


def measure_sample(sample: Sample, kind: str = "") -> ImageFacts:
    raw = _read(Path(sample.image))
    gray = to_gray_uint8(raw, sample.image)
    mask = None
    if sample.mask is not None:
        # a palette PNG's indices, as training reads them; any other mask decoded once as it is
        raw_mask = read_mask(sample.mask) if _palette(Path(sample.mask)) else _read(Path(sample.mask))
        mask = raw_mask[..., 0] if raw_mask.ndim == 3 else raw_mask
        if mask.shape != gray.shape:
            raise DataError(f"{sample.mask}: mask is {mask.shape[1]}x{mask.shape[0]} but its image is "
                            f"{gray.shape[1]}x{gray.shape[0]}")
    elif any(sample.runs):  # annotations' drawn masks, measured as label images (a later class wins an overlap)
        sample.check_size(gray.shape)
        mask = np.zeros(gray.shape, np.uint8)
        for value, runs in enumerate(sample.runs, start=1):
            mask[rle.decode(runs, gray.shape)] = value
    return measure(gray, mask, Path(sample.image).name, kind, _is_colour(raw),
                   "" if sample.mask is None else str(sample.mask))


class FileFingerprinter:
    """Measures every sample once, a few files at a time, reporting progress."""

    def __init__(self, workers: int = 4) -> None:
        self._workers = workers

    def measure(self, samples: Sequence[Sample], kinds: Sequence[str],
                progress: Callable[[int, int], None] | None = None) -> list[ImageFacts]:
        def one(item: tuple[Sample, str]) -> ImageFacts | str:
            try:
                return measure_sample(*item)
            except DataError as error:
                return str(error)

        results: list[ImageFacts | str] = []
        with ThreadPoolExecutor(max_workers=self._workers) as pool:
            for found in pool.map(one, zip(samples, kinds)):
                results.append(found)
                if progress is not None:
                    progress(len(results), len(samples))
        problems = [r for r in results if isinstance(r, str)]
        if problems:
            from unet_defects.domain.errors import DataProblems

            raise DataProblems(problems)
        return [r for r in results if isinstance(r, ImageFacts)]
