"""Defects as records: each connected component of a decision as one row, and defect-level scores.

Pixel scores (Dice) say how much defect area was covered; an inspector asks instead which
defects were found and which alarms were real. Here a defect is a labelled connected component
(labelling itself is an adapter's job: the domain takes label images), and a true defect counts
as found as soon as one predicted pixel touches it.

Everything runs on the nonzero pixels only, in one pass plus a sort by label, so a 6000x6000
image with a handful of defects costs about as much as reading it.
"""

from __future__ import annotations

import attrs
import numpy as np

from unet_defects.domain.tiling import row_strips

# COCO's area ranges: small < 32x32, medium < 96x96, large beyond.
SMALL_BELOW = 32 * 32  # 1024 px
LARGE_FROM = 96 * 96  # 9216 px
SIZE_NAMES = ("small", "medium", "large")
SIZE_BOUNDS_TEXT = f"small < {SMALL_BELOW} px (32x32), medium < {LARGE_FROM} px (96x96), large >= {LARGE_FROM} px"


@attrs.frozen
class DefectRecord:
    """One connected component: where it is, how big, and how sure the model was of it."""

    bbox: tuple[int, int, int, int]  # (y0, x0, y1, x1), ends exclusive as in slicing
    area: int  # pixels
    centroid: tuple[float, float]  # (y, x), the mean of the component's pixel coordinates
    max_probability: float
    mean_probability: float
    # With several defect classes: the class whose mask holds the component, and its name.
    class_id: int | None = None
    class_name: str | None = None

    def as_dict(self) -> dict:
        """Plain Python types, ready for json.dumps (the class keys only with several classes)."""
        named = {} if self.class_id is None else {"class_id": int(self.class_id), "class_name": self.class_name}
        return {
            **named,
            "bbox": [int(v) for v in self.bbox],
            "area": int(self.area),
            "centroid": [round(float(v), 6) for v in self.centroid],
            "max_probability": round(float(self.max_probability), 6),
            "mean_probability": round(float(self.mean_probability), 6),
        }


def size_bins(areas: np.ndarray) -> np.ndarray:
    """0, 1 or 2 (small, medium, large) for each area in pixels."""
    return np.searchsorted(np.array([SMALL_BELOW, LARGE_FROM]), np.asarray(areas), side="right")


def large_components(labels: np.ndarray, count: int, min_area: int) -> np.ndarray:
    """The mask of the labelled components (1..count) of `min_area` pixels or more."""
    keep = np.bincount(labels.ravel(), minlength=count + 1) >= min_area
    keep[0] = False
    return keep[labels]


def records_from_labels(labels: np.ndarray, count: int, probabilities: np.ndarray) -> list[DefectRecord]:
    """A record per component of `labels` (0 background, 1..count components), largest area first.

    Labels absent from the image give no record. Ties in area go to the upper-left bbox, so the
    order does not depend on how the labeller numbered the components.
    """
    labels = np.asarray(labels)
    probabilities = np.asarray(probabilities)
    if labels.ndim != 2 or probabilities.shape != labels.shape:
        raise ValueError(f"labels and probabilities must share one (H, W), got {labels.shape}, {probabilities.shape}")
    if labels.size and (labels.min() < 0 or labels.max() > count):
        raise ValueError(f"labels must lie in 0..{count}, got {labels.min()}..{labels.max()}")
    # A strip of rows at a time, so a huge image's defect pixels never all sit in temporaries.
    area = np.zeros(count + 1, np.int64)
    y0, x0 = np.full(count + 1, np.iinfo(np.int64).max), np.full(count + 1, np.iinfo(np.int64).max)
    y1, x1 = np.full(count + 1, -1, np.int64), np.full(count + 1, -1, np.int64)
    sum_y, sum_x, sum_p = np.zeros(count + 1, np.int64), np.zeros(count + 1, np.int64), np.zeros(count + 1)
    peak = np.full(count + 1, -np.inf)
    for rows_of in row_strips(*labels.shape):
        strip = labels[rows_of]
        index = np.flatnonzero(strip)
        if index.size == 0:
            continue
        ids = strip.ravel()[index]
        # A stable sort groups each label's pixels; uint16 keys let numpy use its linear radix sort.
        order = np.argsort(ids.astype(np.uint16) if count < 2**16 else ids, kind="stable")
        ids, index = ids[order], index[order]
        starts = np.flatnonzero(np.r_[True, ids[1:] != ids[:-1]])
        found = ids[starts]
        rows, cols = np.divmod(index, labels.shape[1])
        rows += rows_of.start
        values = probabilities[rows_of].ravel()[index].astype(np.float64)
        area[found] += np.diff(np.r_[starts, ids.size])
        y0[found] = np.minimum(y0[found], np.minimum.reduceat(rows, starts))
        y1[found] = np.maximum(y1[found], np.maximum.reduceat(rows, starts) + 1)
        x0[found] = np.minimum(x0[found], np.minimum.reduceat(cols, starts))
        x1[found] = np.maximum(x1[found], np.maximum.reduceat(cols, starts) + 1)
        sum_y[found] += np.add.reduceat(rows, starts)
        sum_x[found] += np.add.reduceat(cols, starts)
        sum_p[found] += np.add.reduceat(values, starts)
        peak[found] = np.maximum(peak[found], np.maximum.reduceat(values, starts))
    present = np.flatnonzero(area[1:]) + 1
    if present.size == 0:
        return []
    area, y0, y1, x0, x1 = area[present], y0[present], y1[present], x0[present], x1[present]
    cy, cx = sum_y[present] / area, sum_x[present] / area
    peak, mean = peak[present], sum_p[present] / area
    ranked = np.lexsort((x0, y0, -area))
    return [
        DefectRecord(
            bbox=(int(y0[i]), int(x0[i]), int(y1[i]), int(x1[i])), area=int(area[i]),
            centroid=(float(cy[i]), float(cx[i])),
            max_probability=float(peak[i]), mean_probability=float(mean[i]),
        )
        for i in ranked
    ]


def _ints(values) -> tuple[int, ...]:
    return tuple(int(v) for v in values)


def _per_label(ids: np.ndarray, count: int) -> np.ndarray:
    """How many of `ids` (each in 1..count) fall on each label 1..count."""
    return np.bincount(ids, minlength=count + 1)[1 : count + 1]


def _ratio(numerator: int, denominator: int) -> float | None:
    return numerator / denominator if denominator else None


@attrs.frozen
class DefectCounts:
    """Defect-level counts of one or more images; add them with `+` to pool a dataset.

    Sizes bin the TRUE components by area with COCO's ranges: small < 1024 px (32x32),
    medium 1024..9215 px, large >= 9216 px (96x96), so recall can be read by defect size.
    """

    true_total: int = attrs.field(default=0, converter=int)
    true_found: int = attrs.field(default=0, converter=int)
    predicted_total: int = attrs.field(default=0, converter=int)
    predicted_matched: int = attrs.field(default=0, converter=int)
    true_by_size: tuple[int, int, int] = attrs.field(default=(0, 0, 0), converter=_ints)
    found_by_size: tuple[int, int, int] = attrs.field(default=(0, 0, 0), converter=_ints)

    def __add__(self, other: DefectCounts) -> DefectCounts:
        if not isinstance(other, DefectCounts):
            return NotImplemented
        return DefectCounts(
            self.true_total + other.true_total, self.true_found + other.true_found,
            self.predicted_total + other.predicted_total, self.predicted_matched + other.predicted_matched,
            np.add(self.true_by_size, other.true_by_size), np.add(self.found_by_size, other.found_by_size),
        )

    def scores(self) -> dict[str, float | None]:
        """Recall and precision over defects; None where nothing was there to count."""
        scores = {
            "defect_recall": _ratio(self.true_found, self.true_total),
            "defect_precision": _ratio(self.predicted_matched, self.predicted_total),
        }
        for name, found, total in zip(SIZE_NAMES, self.found_by_size, self.true_by_size):
            scores[f"defect_recall_{name}"] = _ratio(found, total)
        return scores


def match_from_labels(
    true_labels: np.ndarray, true_count: int, predicted_labels: np.ndarray, predicted_count: int,
    counted: np.ndarray | None = None,
) -> DefectCounts:
    """Which true components some predicted component touches (>= 1 shared pixel), and back.

    `counted` (a boolean mask) limits the pixels where an overlap counts, e.g. to leave out a
    don't-care region; the components, their number and their sizes stay those of the labels.
    """
    true_labels, predicted_labels = np.asarray(true_labels), np.asarray(predicted_labels)
    if true_labels.shape != predicted_labels.shape:
        raise ValueError(f"truth and prediction differ in shape: {true_labels.shape} and {predicted_labels.shape}")
    is_true, is_predicted = true_labels > 0, predicted_labels > 0
    overlap = is_true & is_predicted
    if counted is not None:
        overlap &= np.asarray(counted, bool)
    # Bincount only the selected pixels: over a whole large image it costs ~40x more.
    true_area = _per_label(true_labels[is_true], true_count)
    predicted_present = _per_label(predicted_labels[is_predicted], predicted_count) > 0
    found = _per_label(true_labels[overlap], true_count) > 0
    matched = _per_label(predicted_labels[overlap], predicted_count) > 0
    present = true_area > 0
    bins = size_bins(true_area)
    return DefectCounts(
        true_total=np.count_nonzero(present), true_found=np.count_nonzero(found),
        predicted_total=np.count_nonzero(predicted_present), predicted_matched=np.count_nonzero(matched),
        true_by_size=np.bincount(bins[present], minlength=3), found_by_size=np.bincount(bins[found], minlength=3),
    )
