"""Defect masks as polygons, in domain.annotations' coordinates: pixel (row i, column j) is the
square [j, j + 1) x [i, i + 1), and a pixel is inside a polygon when its centre is.

Each 8-connected component (the connectivity of adapters.components) becomes one polygon: its
outer boundary, traced by marching squares (contourpy) on the pixel values. The contour at one
half runs midway between a defect pixel's centre and its neighbour's, so every pixel centre lies
at least sqrt(2)/4 (~0.354) px from it: the polygon rasterizes back to the component exactly.
Holes are filled (LabelMe's polygons have none; COCO keeps them in its RLE).
"""

from __future__ import annotations

from typing import NamedTuple, cast

import numpy as np

from unet_defects.adapters.components import label_components

# Just under one half: at a saddle (two pixels touching at a corner only) the contour then joins
# them, as 8-connectivity does, instead of splitting them in two; the edges move by 1e-6 px.
_LEVEL = 0.5 - 1e-6
# Douglas-Peucker tolerance, below the sqrt(2)/4 px between the traced contour and the nearest
# pixel centre: straight runs and 45-degree staircases become single edges, while no pixel centre
# changes side, so the simplified polygon still rasterizes to the component.
TOLERANCE = 0.35
_DECIMALS = 3  # vertices lie on halves of a pixel; rounding drops the 1e-6 of the level

Polygon = list[tuple[float, float]]


class Component(NamedTuple):
    """One 8-connected component: its bounding box and its pixels within it."""

    box: tuple[slice, slice]  # (rows, columns), as ndimage.find_objects gives it
    pixels: np.ndarray  # bool, the box's shape

    def mean(self, values: np.ndarray) -> float:
        """The mean of a full-image (H, W) array over the component's pixels."""
        return float(np.mean(values[self.box][self.pixels]))


def components(mask: np.ndarray) -> list[Component]:
    """The 8-connected components of a boolean (H, W) mask, in raster order of their first pixel."""
    from scipy import ndimage

    labels, _ = label_components(mask)  # the components records count, so a polygon is one of them
    return [Component(box, labels[box] == label)
            for label, box in enumerate(ndimage.find_objects(labels), 1) if box is not None]


def outline(component: Component) -> Polygon:
    """The component's outer boundary as a simplified polygon of 3 vertices or more (a lone
    pixel is a diamond through its edges' midpoints)."""
    import contourpy
    from scipy import ndimage

    # Padded by a pixel of background, so a component on the image's border closes there.
    filled = np.pad(ndimage.binary_fill_holes(component.pixels), 1).astype(np.float64)
    generator = contourpy.contour_generator(z=filled, name="serial", line_type="Separate")
    lines = cast("list[np.ndarray]", generator.lines(_LEVEL))  # Separate: one (n, 2) array per line
    # A filled 8-connected component has one boundary; the longest guards against stray loops.
    ring = max(lines, key=len)[:-1]  # closed: the last point repeats the first
    # The contour runs on pixel centres (x = column, y = row), padded by one: shift to the image.
    ring = ring + (component.box[1].start - 0.5, component.box[0].start - 0.5)
    points = np.round(simplify(ring, TOLERANCE), _DECIMALS) + 0.0  # + 0.0: no -0.0 in the files
    return [(float(x), float(y)) for x, y in points]


def check_arrays(name: str, size: tuple[int, int], masks: np.ndarray, probabilities: np.ndarray,
                 classes: int) -> None:
    """Masks and probabilities of (H, W, K), the image's size and one channel per class."""
    expected = (*size, classes)
    for what, array in (("masks", masks), ("probabilities", probabilities)):
        if tuple(np.shape(array)) != expected:
            raise ValueError(f"{name}: {what} must be (height, width, classes) = {expected}, got {np.shape(array)}")


class Proposal(NamedTuple):
    """One proposed defect: its class channel, its component and its score (the mean probability)."""

    channel: int
    component: Component
    score: float


def proposals_of(masks: np.ndarray, probabilities: np.ndarray) -> list[Proposal]:
    """Each class channel's components of (H, W, K) decided masks, scored on the probabilities:
    labelled once for every format written."""
    if masks.ndim != 3 or np.shape(probabilities) != masks.shape:
        raise ValueError(f"masks and probabilities must be (height, width, classes) alike, got {masks.shape} and "
                         f"{np.shape(probabilities)}")
    return [Proposal(channel, component, round(component.mean(probabilities[..., channel]), 6))
            for channel in range(masks.shape[-1]) for component in components(masks[..., channel])]


def trace_polygons(mask: np.ndarray) -> list[Polygon]:
    """One polygon per 8-connected component of a boolean (H, W) mask, holes filled."""
    return [outline(component) for component in components(mask)]


def simplify(ring: np.ndarray, tolerance: float) -> np.ndarray:
    """Douglas-Peucker on a closed ring of (n, 2) points (not repeating the first): split at the
    point farthest from the first, simplify both halves. Rings of 4 or fewer points stay."""
    if len(ring) <= 4:
        return ring
    far = int(np.argmax(np.hypot(*(ring - ring[0]).T)))
    keep = np.zeros(len(ring), bool)
    keep[[0, far]] = True
    closed = np.vstack([ring, ring[:1]])
    for start, end in ((0, far), (far, len(ring))):
        _mark(closed, start, end, tolerance, keep)
    return ring[keep] if keep.sum() >= 3 else ring


def _mark(points: np.ndarray, start: int, end: int, tolerance: float, keep: np.ndarray) -> None:
    """Marks in `keep` the points of points[start..end] that Douglas-Peucker keeps (iterative:
    a long boundary would exceed Python's recursion limit)."""
    stack = [(start, end)]
    while stack:
        first, last = stack.pop()
        if last - first < 2:
            continue
        inner = points[first + 1:last]
        chord = points[last] - points[first]
        length = float(np.hypot(*chord))
        offsets = inner - points[first]
        if length == 0.0:
            distances = np.hypot(*offsets.T)
        else:
            distances = np.abs(chord[0] * offsets[:, 1] - chord[1] * offsets[:, 0]) / length
        worst = int(np.argmax(distances))
        if distances[worst] > tolerance:
            middle = first + 1 + worst
            keep[middle % len(keep)] = True
            stack += [(first, middle), (middle, last)]
