"""The masks shapes should give, drawn independently of the project's rasterizer: matplotlib's
point-in-path on pixel centres for polygons, numpy slicing for boxes. The annotation readers'
tests compare with these."""

from __future__ import annotations

import numpy as np
from matplotlib.path import Path as MplPath


def centres_inside(vertices, size) -> np.ndarray:
    """The pixels whose centre matplotlib finds inside the polygon."""
    height, width = size
    rows, columns = np.mgrid[:height, :width]
    centres = np.column_stack([columns.ravel() + 0.5, rows.ravel() + 0.5])
    return MplPath(np.asarray(vertices)).contains_points(centres).reshape(size)


def box_pixels(x0, y0, x1, y1, size) -> np.ndarray:
    """The pixels whose centre lies in the axis-aligned box, by slicing."""
    mask = np.zeros(size, dtype=bool)
    mask[int(np.ceil(y0 - 0.5)):int(np.floor(y1 - 0.5)) + 1, int(np.ceil(x0 - 0.5)):int(np.floor(x1 - 0.5)) + 1] = True
    return mask


def star(rng, cx, cy, radius, corners=7) -> np.ndarray:
    """A simple polygon of random float vertices around (cx, cy) (no pixel centre on an edge)."""
    angles = np.sort(rng.uniform(0, 2 * np.pi, corners))
    radii = rng.uniform(0.3, 1.0, corners) * radius
    return np.column_stack([cx + radii * np.cos(angles), cy + radii * np.sin(angles)])


def masks_of(found, item, names) -> list[np.ndarray]:
    """The masks a reader's image draws, one per class `names` chooses (None: one class)."""
    from unet_defects.domain import rle
    from unet_defects.domain.annotations import choose_classes, class_runs

    runs = class_runs(item, choose_classes(found.categories, names, None, found.source))
    return [rle.decode(run, item.size) for run in runs]


def error_of(read, folder, names=None) -> str:
    """The one-line DataError reading `folder` with `read` and drawing its masks gives."""
    import pytest

    from unet_defects.domain.errors import DataError

    with pytest.raises(DataError) as caught:
        found = read(folder)
        for item in found.images:
            masks_of(found, item, names)
    message = str(caught.value)
    assert "\n" not in message
    return message
