"""COCO and LabelMe annotations read as the masks they draw: files written in each format's own
layout (COCO's RLE by pycocotools' encoder), masks checked pixel for pixel against polygons
rasterized independently (matplotlib's point-in-path on pixel centres)."""

from __future__ import annotations

import base64
import io
import json
from pathlib import Path

import imageio.v3 as iio
import numpy as np
import pytest
from pycocotools import mask as coco_mask

from tests.unit.drawn_truth import centres_inside
from unet_defects.adapters.datasets.annotated import chosen_samples, list_annotated, open_annotated
from unet_defects.adapters.datasets.annotations.coco import read_coco
from unet_defects.adapters.datasets.annotations.labelme import read_labelme
from unet_defects.adapters.datasets.layout_detection import detect_layout
from unet_defects.adapters.datasets.survey import FolderSurvey
from unet_defects.adapters.images import write_png
from unet_defects.domain import rle
from unet_defects.domain.annotations import choose_classes, class_runs, polygon_mask
from unet_defects.domain.data import DataSpec, Sample
from unet_defects.domain.errors import ConfigError, DataError

H, W = 30, 40


def inside(points, size=(H, W)) -> np.ndarray:
    return centres_inside(points, size)


def random_polygon(rng, size=(H, W), corners=7) -> list[tuple[float, float]]:
    angles = np.sort(rng.uniform(0, 2 * np.pi, corners))
    radius = rng.uniform(3, min(size) * 0.3, corners)  # inside the image from any centre drawn
    cx, cy = rng.uniform(size[1] * 0.35, size[1] * 0.65), rng.uniform(size[0] * 0.35, size[0] * 0.65)
    return [(float(cx + r * np.cos(a)), float(cy + r * np.sin(a))) for r, a in zip(radius, angles)]


def test_polygon_mask_is_the_pixels_whose_centre_is_inside():
    rng = np.random.default_rng(0)
    for _ in range(40):
        points = random_polygon(rng, corners=int(rng.integers(3, 12)))
        assert np.array_equal(polygon_mask(points, (H, W)), inside(points))


def coco_rle(mask: np.ndarray) -> dict:
    encoded = coco_mask.encode(np.asfortranarray(mask.astype(np.uint8)))
    return {"size": encoded["size"], "counts": encoded["counts"].decode("ascii")}


def uncompressed_rle(mask: np.ndarray) -> dict:
    """COCO's uncompressed RLE by its definition: column-major runs, starting with background."""
    flat = mask.T.ravel().astype(np.int8)
    edges = np.flatnonzero(np.diff(np.concatenate([[0], flat, [1 - flat[-1]]])))
    counts = np.diff(np.concatenate([[0], edges])).tolist()
    return {"size": list(mask.shape), "counts": [int(c) for c in counts]}


def write_coco(root: Path, annotations: list[dict], images: int = 4, file_name: str = "annotations.json") -> Path:
    (root / "images").mkdir(parents=True, exist_ok=True)
    for index in range(images):
        write_png(root / "images" / f"part{index}.png", np.full((H, W), 90 + index, np.uint8))
    document = {"images": [{"id": 10 + i, "file_name": f"part{i}.png", "height": H, "width": W}
                           for i in range(images)],
                "categories": [{"id": 3, "name": "scratch"}, {"id": 5, "name": "dent"}],
                "annotations": [{"id": n + 1, "iscrowd": 0, **a} for n, a in enumerate(annotations)]}
    (root / file_name).write_text(json.dumps(document))
    return root / file_name


def blob(rng) -> np.ndarray:
    return polygon_mask(random_polygon(rng), (H, W))


def test_coco_polygons_and_both_rles_give_their_masks(tmp_path):
    rng = np.random.default_rng(1)
    first, second = random_polygon(rng), random_polygon(rng)
    crowd, dent = blob(rng), blob(rng)
    write_coco(tmp_path, [
        {"image_id": 10, "category_id": 3, "segmentation": [sum(map(list, first), []), sum(map(list, second), [])]},
        {"image_id": 11, "category_id": 3, "segmentation": uncompressed_rle(crowd), "iscrowd": 1},
        {"image_id": 11, "category_id": 5, "segmentation": coco_rle(dent)},
        {"image_id": 12, "category_id": 5, "segmentation": [], "bbox": [4.2, 5.6, 10.1, 7.3]},
    ])
    found = read_coco(tmp_path)
    assert found.categories == ("scratch", "dent")
    samples = chosen_samples(found, ("dent", "scratch"), None)
    masks = [[rle.decode(runs, (H, W)) for runs in sample.runs] for sample in samples]
    assert np.array_equal(masks[0][1], inside(first) | inside(second)) and not masks[0][0].any()
    assert np.array_equal(masks[1][1], crowd) and np.array_equal(masks[1][0], dent)
    box = np.zeros((H, W), bool)
    box[6:13, 4:14] = True  # centres 4.5..13.5 of x in [4.2, 14.3], 6.5..12.5 of y in [5.6, 12.9]
    assert np.array_equal(masks[2][0], box)
    assert not any(samples[3].runs)  # listed with no annotation: a good part
    merged = chosen_samples(found, None, None)  # no names: every category one defect
    assert np.array_equal(rle.decode(merged[1].encoded, (H, W)), crowd | dent)


def test_category_map_merges_and_names_select(tmp_path):
    rng = np.random.default_rng(2)
    a, b = blob(rng), blob(rng)
    write_coco(tmp_path, [{"image_id": 10, "category_id": 3, "segmentation": coco_rle(a)},
                          {"image_id": 10, "category_id": 5, "segmentation": coco_rle(b)}])
    found = read_coco(tmp_path)
    merged = chosen_samples(found, ("defect",), {"scratch": "defect", "dent": "defect"})
    assert np.array_equal(rle.decode(merged[0].runs[0], (H, W)), a | b)
    only_dent = chosen_samples(found, ("dent",), None)
    assert np.array_equal(rle.decode(only_dent[0].runs[0], (H, W)), b)
    with pytest.raises(ConfigError, match=r"defect_class_names: 'hole' is no category of .*annotations.json"):
        chosen_samples(found, ("hole",), None)
    with pytest.raises(ConfigError, match=r"category_map: 'hole' is no category"):
        chosen_samples(found, None, {"hole": "dent"})


@pytest.mark.parametrize("annotation, message", [
    ({"image_id": 99, "category_id": 3, "segmentation": [[1, 1, 5, 1, 5, 5]]}, r"annotation 1: image_id 99 is no image"),
    ({"image_id": 10, "category_id": 4, "segmentation": [[1, 1, 5, 1, 5, 5]]}, r"annotation 1: category_id 4 is no"),
    ({"image_id": 10, "category_id": 3, "segmentation": [[1, 1, 5, 1]]}, r"annotation 1 polygon 0: a polygon needs at "
                                                                         r"least 3 points, got 2"),
    ({"image_id": 10, "category_id": 3, "segmentation": [[1, 1, 55, 1, 5, 5]]}, r"annotation 1 polygon 0: vertex "
                                                                                r"\(55, 1\) is outside the 40x30"),
    ({"image_id": 10, "category_id": 3, "segmentation": {"size": [31, 40], "counts": [5, 3, 1232]}},
     r"annotation 1: its RLE is 40x31 but its image is 40x30"),
])
def test_coco_problems_are_one_line_naming_file_and_entry(tmp_path, annotation, message):
    path = write_coco(tmp_path, [annotation])
    with pytest.raises(DataError, match=f"{path}: {message}"):
        chosen_samples(read_coco(tmp_path), None, None)


def test_coco_missing_image_and_bad_json(tmp_path):
    path = write_coco(tmp_path, [])
    (tmp_path / "images" / "part2.png").unlink()
    with pytest.raises(DataError, match=rf"{path}: image 12: its image 'part2.png' is not found"):
        read_coco(tmp_path)
    path.write_text('{"images": [')
    with pytest.raises(DataError, match=rf"{path}: not valid JSON \(line 1, column 13"):
        read_coco(tmp_path)


def test_an_image_of_another_size_than_its_annotation_is_named(tmp_path):
    rng = np.random.default_rng(3)
    write_coco(tmp_path, [{"image_id": 10 + i, "category_id": 3, "segmentation": coco_rle(blob(rng))}
                          for i in range(4)])
    write_png(tmp_path / "images" / "part1.png", np.zeros((H, W + 2), np.uint8))
    spec = DataSpec(dataset="CocoDataset", dataset_path=str(tmp_path), image_shape=[16, 16, 1], train_test_split=0.5)
    reader = open_annotated(spec, spec, seed=0)
    # checked against the file's header when listed, before any shape is drawn at that size
    with pytest.raises(DataError, match=r"annotations.json: image 11: gives its image part1.png as 40x30, but the "
                                        r"file is 42x30"):
        reader.training_size()


def test_a_sample_whose_image_changed_size_after_listing_is_named():
    """The readers' own check (severstal's rows, annotations' runs) when a file is read."""
    sample = Sample(Path("a.png"), None, "1 3", size=(H, W), source="x.json: image 4")
    with pytest.raises(DataError, match=r"a.png: is 42x30, but x.json: image 4 numbers the pixels of a 40x30 image"):
        sample.check_size((H, W + 2))


def labelme_shape(label: str, kind: str, points, **extra) -> dict:
    return {"label": label, "points": [list(p) for p in points], "group_id": None, "description": "",
            "shape_type": kind, "flags": {}, "mask": None, **extra}


def write_labelme(folder: Path, stem: str, shapes: list[dict], size=(H, W)) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    write_png(folder / f"{stem}.png", np.full(size, 120, np.uint8))
    path = folder / f"{stem}.json"
    path.write_text(json.dumps({"version": "5.5.0", "flags": {}, "shapes": shapes, "imagePath": f"{stem}.png",
                                "imageData": None, "imageHeight": size[0], "imageWidth": size[1]}))
    return path


def png_base64(mask: np.ndarray) -> str:
    buffer = io.BytesIO()
    iio.imwrite(buffer, mask.astype(np.uint8), extension=".png")
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def test_labelme_shapes_give_their_masks(tmp_path):
    rng = np.random.default_rng(4)
    polygon = random_polygon(rng)
    crop = rng.random((6, 9)) < 0.5
    write_labelme(tmp_path, "a", [labelme_shape("crack", "polygon", polygon),
                                  labelme_shape("spot", "rectangle", [(20.3, 2.2), (30.6, 8.8)]),
                                  labelme_shape("crack", "line", [(1, 1), (5, 5)])])
    write_labelme(tmp_path, "b", [labelme_shape("spot", "circle", [(15.2, 14.9), (15.2, 22.1)]),
                                  labelme_shape("spot", "mask", [(3, 4), (11, 9)], mask=png_base64(crop))])
    write_labelme(tmp_path, "c", [])
    write_png(tmp_path / "d.png", np.zeros((H, W), np.uint8))  # no JSON: a good part
    found = read_labelme(tmp_path)
    assert found.categories == ("crack", "spot") and [i.image.name for i in found.images] == [f"{s}.png" for s in "abcd"]
    choice = choose_classes(found.categories, found.categories, None, found.source)
    a, b, c, d = ([rle.decode(r, (H, W)) for r in class_runs(item, choice)] for item in found.images)
    box = np.zeros((H, W), bool)
    box[2:9, 20:31] = True
    assert np.array_equal(a[0], inside(polygon)) and np.array_equal(a[1], box)
    rows, cols = np.mgrid[:H, :W]
    disc = np.hypot(cols + 0.5 - 15.2, rows + 0.5 - 14.9) < 7.2
    placed = np.zeros((H, W), bool)
    placed[4:10, 3:12] = crop
    differ = b[1] ^ (disc | placed)
    ring = np.abs(np.hypot(cols + 0.5 - 15.2, rows + 0.5 - 14.9) - 7.2) < 0.01 * 7.2  # the 64-gon's chord error
    assert not (differ & ~ring).any()
    assert not any(m.any() for m in (*c, *d))


def test_labelme_problems(tmp_path):
    path = write_labelme(tmp_path, "a", [labelme_shape("crack", "polygon", [(1, 1), (5, 5)])])
    with pytest.raises(DataError, match=rf"{path}: shape 0: a polygon needs at least 3 points, got 2"):
        chosen_samples(read_labelme(tmp_path), None, None)
    path.write_text("{not json")
    with pytest.raises(DataError, match=rf"{path}: not valid JSON \(line 1, column 2"):
        read_labelme(tmp_path)
    path.unlink()
    (tmp_path / "ghost.json").write_text("{}")
    with pytest.raises(DataError, match=r"ghost.json: a LabelMe file with no image of the same stem"):
        read_labelme(tmp_path)


def test_the_planner_finds_the_layout_and_the_categories(tmp_path):
    rng = np.random.default_rng(5)
    write_coco(tmp_path / "coco", [{"image_id": 10 + i % 4, "category_id": (3, 5)[i % 2],
                                    "segmentation": coco_rle(blob(rng))} for i in range(6)])
    write_labelme(tmp_path / "labelme" / "images", "a", [labelme_shape("crack", "polygon", random_polygon(rng))])
    (tmp_path / "neither").mkdir()
    assert detect_layout(tmp_path / "coco") == "CocoDataset"
    assert detect_layout(tmp_path / "labelme") == "LabelMeDataset"
    with pytest.raises(DataError, match=r"neither: no dataset found; expected images/ and masks/, a COCO"):
        detect_layout(tmp_path / "neither")
    samples, split = FolderSurvey().training_samples(str(tmp_path / "coco"), keep=0.75)
    assert split.dataset == "CocoDataset" and split.class_names == ("scratch", "dent") and len(samples) == 3
    assert all(isinstance(sample.encoded, tuple) for sample in samples)


def test_train_and_test_folders_each_with_their_annotations(tmp_path):
    rng = np.random.default_rng(6)
    for part in ("train", "test"):
        write_coco(tmp_path / part, [{"image_id": 10, "category_id": 3, "segmentation": coco_rle(blob(rng))}])
    spec = DataSpec(dataset="CocoDataset", dataset_path=str(tmp_path), image_shape=[16, 16, 1],
                    only_defective_images=True)
    assert [s.image.parent.parent.name for s in list_annotated(tmp_path / "test", spec, training=False)] == ["test"]
    reader = open_annotated(spec, spec, seed=0)
    assert reader.training_size() == 1 and reader.evaluation_size() == 1


def test_a_compressed_rle_that_does_not_cover_its_image_is_refused(tmp_path):
    """pycocotools decodes such a string from memory it never wrote; the reader checks it."""
    good = coco_rle(blob(np.random.default_rng(7)))
    path = write_coco(tmp_path, [{"image_id": 10, "category_id": 3, "segmentation": good},
                                 {"image_id": 11, "category_id": 3, "segmentation": {"size": [H, W], "counts": "0"}}])
    with pytest.raises(DataError, match=rf"{path}: annotation 2: its RLE does not describe the 40x30 pixels"):
        chosen_samples(read_coco(tmp_path), None, None)


def test_an_image_listed_twice_and_paths_out_of_the_folder(tmp_path):
    path = write_coco(tmp_path, [])
    document = json.loads(path.read_text())
    document["images"][1]["file_name"] = "part0.png"
    path.write_text(json.dumps(document))
    with pytest.raises(DataError, match=rf"{path}: image 11: its image .*part0.png is also that of {path}: image 10"):
        chosen_samples(read_coco(tmp_path), None, None)
    write_png(tmp_path.parent / "outside.png", np.zeros((H, W), np.uint8))
    document["images"][1]["file_name"] = "../../outside.png"  # looked up by its base name in the folder only
    path.write_text(json.dumps(document))
    with pytest.raises(DataError, match=r"image 11: its image '../../outside.png' is not found"):
        read_coco(tmp_path)
    document["images"][1]["file_name"] = "C:\\labels\\shift2\\part1.png"  # another machine's path: its base name
    path.write_text(json.dumps(document))
    assert read_coco(tmp_path).images[1].image == tmp_path / "images" / "part1.png"


def test_the_plan_takes_the_users_names_and_category_map(tmp_path):
    rng = np.random.default_rng(8)
    write_coco(tmp_path, [{"image_id": 10 + i % 4, "category_id": (3, 5)[i % 2],
                           "segmentation": coco_rle(blob(rng))} for i in range(6)])
    _, merged = FolderSurvey().training_samples(str(tmp_path), keep=0.75, category_map={"scratch": "d", "dent": "d"})
    assert merged.class_names is None  # one class left: planned as one defect
    samples, named = FolderSurvey().training_samples(str(tmp_path), keep=0.75, class_names=["dent"])
    assert named.class_names == ("dent",) and all(len(sample.runs) == 1 for sample in samples)


def test_labelme_proposals_never_overwrite_a_reviewers_files(tmp_path):
    from unet_defects.adapters.annotation_exports.proposals import ProposalFiles

    (tmp_path / "labelme").mkdir()
    (tmp_path / "labelme" / "part.json").write_text("{}")
    with pytest.raises(DataError, match=r"labelme: holds LabelMe files already \(part.json, ...\)"):
        ProposalFiles(["labelme"], str(tmp_path), ["defect"])


def test_proposals_of_several_classes_read_back_class_by_class(tmp_path):
    """What unet predict --annotations writes for a model of two classes is read back by the
    readers as the same masks, channel by channel, with the model's names as defect_class_names."""
    from scipy import ndimage

    from unet_defects.adapters.annotation_exports.proposals import ProposalFiles

    rng = np.random.default_rng(9)
    names = ("scratch", "dent")
    proposals = ProposalFiles(["coco", "labelme"], str(tmp_path / "out"), names)
    truth = {}
    for index in range(3):
        image = tmp_path / "in" / "images" / f"part{index}.png"
        image.parent.mkdir(parents=True, exist_ok=True)
        write_png(image, np.full((H, W), 100, np.uint8))
        masks = np.stack([blob(rng), blob(rng) & (index != 1)], axis=-1)  # part1: no dent
        truth[image.name] = masks
        proposals.add(str(image), str(image), masks, rng.random((H, W, 2)).astype(np.float32))
    (coco_file,) = proposals.close()
    Path(coco_file).rename(tmp_path / "in" / "predictions.coco.json")
    for found, exact in ((read_coco(tmp_path / "in"), True), (read_labelme(tmp_path / "out" / "labelme"), False)):
        for sample in chosen_samples(found, names, None):
            drawn = np.stack([rle.decode(runs, (H, W)) for runs in sample.runs], axis=-1)
            expected = truth[sample.image.name]
            if not exact:  # LabelMe's polygons have no holes
                expected = np.stack([ndimage.binary_fill_holes(expected[..., k]) for k in range(2)], axis=-1)
            assert np.array_equal(drawn, expected), (found.source, sample.image.name)


def test_planning_parses_the_annotation_file_once(tmp_path, monkeypatch):
    """Detection hands the file it parsed to the reader."""
    from unet_defects.adapters.datasets.annotations import files

    write_coco(tmp_path, [{"image_id": 10, "category_id": 3, "segmentation": coco_rle(blob(np.random.default_rng(10)))}])
    parsed = []
    real = files._parse_json
    monkeypatch.setattr(files, "_parse_json", lambda path: parsed.append(path) or real(path))
    FolderSurvey().training_samples(str(tmp_path), keep=0.75)
    assert parsed == [tmp_path / "annotations.json"]
