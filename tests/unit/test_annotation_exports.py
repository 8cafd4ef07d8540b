"""The annotation exports: traced polygons rasterize back to the masks, the COCO file loads in
pycocotools with each component exact, and LabelMe files have LabelMe's layout."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
from scipy import ndimage

from unet_defects.adapters.annotation_exports.coco_export import FILE_NAME, CocoExport
from unet_defects.adapters.annotation_exports.contours import trace_polygons
from unet_defects.adapters.annotation_exports.labelme_export import LabelMeExport
from unet_defects.domain.annotations import check_polygon, polygon_mask
from unet_defects.domain.errors import DataError

EIGHT = np.ones((3, 3), bool)
CLASSES = ("scratch", "dent")


def blobs(seed: int, size: tuple[int, int] = (96, 128), sigma: float = 2.0, share: float = 0.2) -> np.ndarray:
    """Thresholded smoothed noise: irregular blobs, some touching the border, some with holes."""
    noise = ndimage.gaussian_filter(np.random.default_rng(seed).standard_normal(size), sigma)
    return noise > np.quantile(noise, 1 - share)


def rasterized(polygons, size) -> np.ndarray:
    union = np.zeros(size, bool)
    for polygon in polygons:
        check_polygon(polygon, size, "traced")
        union |= polygon_mask(polygon, size)
    return union


def near_boundary(mask: np.ndarray) -> np.ndarray:
    """The pixels within one pixel (8-neighbourhood) of the mask's boundary."""
    return ndimage.binary_dilation(mask, EIGHT) & ~ndimage.binary_erosion(mask, EIGHT, border_value=1)


def assert_round_trip(mask: np.ndarray, polygons) -> float:
    """Differences only next to the outline (of the mask, holes filled); returns their share."""
    filled = ndimage.binary_fill_holes(mask)
    differing = rasterized(polygons, mask.shape) ^ filled
    assert not (differing & ~near_boundary(filled)).any()
    return differing.sum() / max(1, filled.sum())


@pytest.mark.parametrize("sigma, share", [(1.5, 0.1), (2.0, 0.2), (3.0, 0.3), (4.0, 0.4)])
@pytest.mark.parametrize("seed", range(4))
def test_traced_blobs_rasterize_back(seed, sigma, share):
    mask = blobs(seed, sigma=sigma, share=share)
    polygons = trace_polygons(mask)
    assert len(polygons) == ndimage.label(mask, EIGHT)[1]  # one polygon per 8-connected component
    # Measured: no differing pixel at all (the tolerance is below the contour's distance to any
    # pixel centre); the only loss is the holes, 0.36% of the defect pixels over these masks (1.6% at most).
    assert assert_round_trip(mask, polygons) == 0.0
    holes = ndimage.binary_fill_holes(mask) & ~mask
    assert holes.sum() / mask.sum() < 0.03


def edge_case(name: str) -> np.ndarray:
    mask = np.zeros((12, 14), bool)
    if name == "pixel":
        mask[5, 6] = True
    elif name == "corner pixel":
        mask[0, 0] = True
    elif name == "border":
        mask[0:4, :] = True
        mask[6:12, 10:14] = True
    elif name == "diagonal pair":
        mask[3, 3] = mask[4, 4] = True
    elif name == "diagonal line":
        mask[np.arange(2, 10), np.arange(3, 11)] = True
    elif name == "thin line":
        mask[6, 2:12] = True
    elif name == "thin column":
        mask[1:11, 4] = True
    elif name == "ring":
        mask[2:9, 2:9] = True
        mask[4:7, 4:7] = False
    return mask


@pytest.mark.parametrize("name", ["pixel", "corner pixel", "border", "diagonal pair", "diagonal line", "thin line",
                                  "thin column", "ring"])
def test_edge_cases_trace_to_one_valid_polygon_each(name):
    mask = edge_case(name)
    polygons = trace_polygons(mask)
    assert len(polygons) == ndimage.label(mask, EIGHT)[1]
    assert all(len(polygon) >= 3 for polygon in polygons)
    assert assert_round_trip(mask, polygons) == 0.0


def test_a_lone_pixel_is_a_diamond_through_its_edges_and_a_rectangle_has_eight_vertices():
    pixel = edge_case("pixel")
    assert sorted(trace_polygons(pixel)[0]) == [(6.0, 5.5), (6.5, 5.0), (6.5, 6.0), (7.0, 5.5)]
    rectangle = np.zeros((20, 30), bool)
    rectangle[3:13, 5:25] = True
    assert len(trace_polygons(rectangle)[0]) == 8  # straight runs collapse; corners are cut at 45 degrees


def test_holes_are_filled():
    ring = edge_case("ring")
    assert np.array_equal(rasterized(trace_polygons(ring), ring.shape), ndimage.binary_fill_holes(ring))


def two_class_masks(seed: int) -> tuple[np.ndarray, np.ndarray]:
    masks = np.stack([blobs(seed, (40, 56), 1.5, 0.15), blobs(seed + 100, (40, 56), 2.5, 0.2)], axis=-1)
    probabilities = np.random.default_rng(seed).uniform(0, 1, masks.shape).astype(np.float32)
    return masks, probabilities


def test_coco_export_loads_in_pycocotools_with_each_component_exact(tmp_path):
    from pycocotools.coco import COCO

    export = CocoExport(tmp_path, CLASSES)
    given = {"folder/a.png": two_class_masks(1), "b.png": two_class_masks(2),
             "good.png": (np.zeros((40, 56, 2), bool), np.zeros((40, 56, 2), np.float32))}
    for name, (masks, probabilities) in given.items():
        export.add(name, (40, 56), masks, probabilities)
    path = export.close()
    assert path == str(tmp_path / FILE_NAME)
    coco = COCO(path)
    assert [c["name"] for c in coco.loadCats(coco.getCatIds())] == list(CLASSES)
    assert json.loads((tmp_path / FILE_NAME).read_text())["info"]["description"] == "unet predict proposals"
    for image_id, (name, (masks, probabilities)) in enumerate(given.items(), 1):
        image = coco.loadImgs(image_id)[0]
        assert (image["file_name"], image["height"], image["width"]) == (os.path.basename(name), 40, 56)
        for channel in range(len(CLASSES)):
            annotations = coco.loadAnns(coco.getAnnIds(imgIds=image_id, catIds=channel + 1))
            labels, count = ndimage.label(masks[..., channel], structure=np.ones((3, 3)))  # 8-connected
            assert len(annotations) == count
            union = np.zeros((40, 56), bool)
            drawn_all = [coco.annToMask(annotation).astype(bool) for annotation in annotations]
            # each annotation is exactly one of the components, in any order
            assert sorted(int(labels[drawn].max()) for drawn in drawn_all) == list(range(1, count + 1))
            for annotation, drawn in zip(annotations, drawn_all):
                truth = labels == labels[drawn].max()
                assert np.array_equal(drawn, truth)
                assert annotation["area"] == truth.sum() and annotation["iscrowd"] == 0
                rows, columns = np.nonzero(truth)
                assert annotation["bbox"] == [columns.min(), rows.min(), np.ptp(columns) + 1, np.ptp(rows) + 1]
                assert 0.0 <= annotation["score"] <= 1.0
                assert annotation["score"] == pytest.approx(probabilities[..., channel][truth].mean(), abs=1e-6)
                union |= drawn
            assert np.array_equal(union, masks[..., channel])
    assert coco.getAnnIds(imgIds=3) == []


def test_coco_export_refuses_arrays_of_another_shape(tmp_path):
    with pytest.raises(ValueError, match="classes"):
        CocoExport(tmp_path, CLASSES).add("a.png", (40, 56), np.zeros((40, 56, 1), bool), np.zeros((40, 56, 1)))


LABELME_KEYS = {"version", "flags", "shapes", "imagePath", "imageData", "imageHeight", "imageWidth"}
SHAPE_KEYS = {"label", "points", "group_id", "description", "shape_type", "flags", "mask"}


def test_labelme_export_writes_labelme_files_beside_the_image(tmp_path):
    source = tmp_path / "images" / "part 7.png"
    source.parent.mkdir()
    source.write_bytes(b"not really a png")
    masks, probabilities = two_class_masks(3)
    export = LabelMeExport(tmp_path / "out", CLASSES)
    written = export.add("images/part 7.png", source, (40, 56), masks, probabilities)
    folder = tmp_path / "out" / "labelme"
    assert written == [str(folder / "part 7.png"), str(folder / "part 7.json")]
    assert os.path.samefile(source, folder / "part 7.png")  # a hard link on one file system
    document = json.loads((folder / "part 7.json").read_text())
    assert set(document) == LABELME_KEYS
    assert (document["version"], document["imagePath"], document["imageData"]) == ("5.5.0", "part 7.png", None)
    assert (document["imageHeight"], document["imageWidth"]) == (40, 56)
    for channel, label in enumerate(CLASSES):
        shapes = [shape for shape in document["shapes"] if shape["label"] == label]
        assert len(shapes) == ndimage.label(masks[..., channel], structure=np.ones((3, 3)))[1]
        for shape in shapes:
            assert set(shape) == SHAPE_KEYS | {"score"} and shape["shape_type"] == "polygon"
            assert shape["group_id"] is None and shape["mask"] is None
            assert 0.0 <= shape["score"] <= 1.0 and shape["description"] == f"score {shape['score']:.2f}"
        polygons = [[tuple(point) for point in shape["points"]] for shape in shapes]
        assert assert_round_trip(masks[..., channel], polygons) == 0.0
    # Written again (a rerun): the link is already the image, the JSON is replaced.
    assert export.add("images/part 7.png", source, (40, 56), masks, probabilities) == written


def test_labelme_export_writes_a_good_part_with_no_shapes_and_refuses_a_second_image_of_its_name(tmp_path):
    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "x.png").write_bytes(folder.encode())
    export = LabelMeExport(tmp_path / "out", CLASSES)
    nothing = np.zeros((8, 9, 2), bool), np.zeros((8, 9, 2), np.float32)
    export.add("a/x.png", tmp_path / "a" / "x.png", (8, 9), *nothing)
    document = json.loads((tmp_path / "out" / "labelme" / "x.json").read_text())
    assert document["shapes"] == [] and set(document) == LABELME_KEYS
    with pytest.raises(DataError, match="overwrite"):
        export.add("b/x.png", tmp_path / "b" / "x.png", (8, 9), *nothing)
    assert (tmp_path / "out" / "labelme" / "x.png").read_bytes() == b"a"


def test_coco_runs_of_components_at_the_first_and_the_last_pixel(tmp_path):
    """Runs built from a component's box: one that starts at pixel 0 (a zero-length background
    run first) or ends at the last pixel (no background run after it) reads back exactly."""
    from pycocotools.coco import COCO

    masks = np.zeros((7, 9, 1), bool)
    masks[0, 0] = masks[5:, 7:] = masks[2:4, 3:6] = True
    export = CocoExport(tmp_path, ["defect"])
    export.add("edge.png", (7, 9), masks, masks.astype(np.float32))
    coco = COCO(export.close())
    drawn = [coco.annToMask(annotation).astype(bool) for annotation in coco.loadAnns(coco.getAnnIds())]
    assert len(drawn) == 3 and np.array_equal(np.logical_or.reduce(drawn), masks[..., 0])
    assert sum(int(d.sum()) for d in drawn) == int(masks.sum())
