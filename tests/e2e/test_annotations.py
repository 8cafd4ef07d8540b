"""Annotations in and out as a user runs them: a COCO dataset planned, trained, calibrated and
written to TFRecords; `unet predict --annotations` read back by the readers as the masks predict
wrote; `unet review` choosing images with their proposals."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import imageio.v3 as iio
import numpy as np
import pytest
import yaml
from pycocotools import mask as coco_mask
from scipy import ndimage

from tests.conftest import unet_in_process as unet
from unet_defects.adapters.datasets.annotated import chosen_samples
from unet_defects.adapters.datasets.annotations.coco import read_coco
from unet_defects.adapters.datasets.annotations.labelme import read_labelme
from unet_defects.adapters.datasets.synthetic_rare import SyntheticRareSpec, generate
from unet_defects.domain import rle

pytestmark = pytest.mark.slow


def masks_of(found) -> dict[str, np.ndarray]:
    """Each image's one-class mask as the readers draw it, by file name."""
    masks = {}
    for sample in chosen_samples(found, None, None):
        shape = iio.imread(sample.image).shape[:2]
        masks[sample.image.name] = rle.decode(sample.encoded, shape) if sample.encoded else np.zeros(shape, bool)
    return masks


def test_predicted_proposals_read_back_as_the_masks_predict_wrote(trained_tiny, tiny_dagm, tmp_path):
    inputs = tiny_dagm / "Class1" / "Test"
    result = unet("predict", "--model_dir", str(trained_tiny), "--input", str(inputs), "--output",
                  str(tmp_path / "out"), "--annotations", "coco", "labelme", "--threshold", "0.45")
    assert result.returncode == 0, result.stderr
    written = {p.stem.removesuffix("_mask"): iio.imread(p) > 0 for p in (tmp_path / "out").glob("*_mask.png")}
    assert len(written) == 5 and any(mask.any() for mask in written.values())
    # COCO, as CVAT would be given it with the images: the masks exactly, holes included
    shutil.copytree(inputs, tmp_path / "cvat" / "images")
    shutil.copy(tmp_path / "out" / "predictions.coco.json", tmp_path / "cvat")
    from_coco = masks_of(read_coco(tmp_path / "cvat"))
    assert {Path(name).stem: mask for name, mask in from_coco.items()}.keys() == written.keys()
    for name, mask in from_coco.items():
        np.testing.assert_array_equal(mask, written[Path(name).stem])
    # LabelMe, opened on labelme/: polygons have no holes, so the masks with their holes filled
    from_labelme = masks_of(read_labelme(tmp_path / "out" / "labelme"))
    for name, mask in from_labelme.items():
        np.testing.assert_array_equal(mask, ndimage.binary_fill_holes(written[Path(name).stem]))
    document = json.loads((tmp_path / "out" / "labelme" / f"{Path(name).stem}.json").read_text())
    assert all(0.0 <= shape["score"] <= 1.0 and shape["label"] == "defect" for shape in document["shapes"])

    review = unet("review", "--model_dir", str(trained_tiny), "--input", str(inputs), "--output",
                  str(tmp_path / "review"), "--count", "2", "--annotations", "labelme", "--by", "pixels")
    assert review.returncode == 0, review.stderr
    rows = (tmp_path / "review" / "review.csv").read_text().splitlines()
    assert rows[0] == "rank,file,chosen,margin,pixels,score,defective" and len(rows) == 6
    ranked = json.loads((tmp_path / "review" / "review.json").read_text())
    assert ranked["by"] == "pixels" and [row["pixels"] for row in ranked["images"]] == sorted(
        (row["pixels"] for row in ranked["images"]), reverse=True)
    assert [row["chosen"] for row in ranked["images"]] == [True, True, False, False, False]  # the 2 least sure
    chosen = {Path(row["file"]).stem for row in ranked["images"] if row["chosen"]}
    assert {p.stem for p in (tmp_path / "review" / "labelme").glob("*.json")} == chosen and len(chosen) == 2


def coco_dataset(source: Path, target: Path) -> Path:
    """The synthetic rare-defect folder (images/ and masks/) as a COCO dataset with two
    categories: each defect component an annotation, the left half's "scratch", the rest "dent"."""
    (target / "images").mkdir(parents=True)
    images, annotations = [], []
    for index, path in enumerate(sorted((source / "images").iterdir()), start=1):
        shutil.copy(path, target / "images" / path.name)
        drawn = source / "masks" / f"{path.stem}.png"  # none: a good part
        mask = iio.imread(drawn) > 0 if drawn.is_file() else np.zeros(iio.imread(path).shape[:2], bool)
        images.append({"id": index, "file_name": path.name, "height": mask.shape[0], "width": mask.shape[1]})
        labels, count = ndimage.label(mask)
        for label in range(1, count + 1):
            component = labels == label
            encoded = coco_mask.encode(np.asfortranarray(component.astype(np.uint8)))
            left = np.argwhere(component)[:, 1].mean() < mask.shape[1] / 2
            annotations.append({"id": len(annotations) + 1, "image_id": index, "category_id": 1 if left else 2,
                                "iscrowd": 0, "segmentation": {"size": encoded["size"],
                                                               "counts": encoded["counts"].decode("ascii")}})
    document = {"images": images, "annotations": annotations,
                "categories": [{"id": 1, "name": "scratch"}, {"id": 2, "name": "dent"}]}
    (target / "instances.json").write_text(json.dumps(document))
    return target


def test_a_coco_dataset_plans_runs_and_writes_records(tmp_path):
    generate(SyntheticRareSpec(images=60, seed=4), tmp_path / "rare")
    data = coco_dataset(tmp_path / "rare", tmp_path / "coco")
    plan_path = tmp_path / "plan.yaml"
    planned = unet("plan", str(data), "--budget", "40s", "--output", str(plan_path))
    assert planned.returncode == 0, planned.stderr
    params = yaml.safe_load(plan_path.read_text())
    assert params["train_input"]["dataset"] == "CocoDataset" and "mask_threshold" not in params["train_input"]
    assert params["train_input"]["defect_class_names"] == ["scratch", "dent"]
    assert "among the categories of instances.json" in plan_path.read_text()
    params["runconfig"]["model_dir"] = str(tmp_path / "model")
    (tmp_path / "plan_here.yaml").write_text(yaml.safe_dump(params))
    ran = unet("run", "-p", str(tmp_path / "plan_here.yaml"))
    assert ran.returncode == 0, ran.stderr
    results = json.loads((tmp_path / "model" / "eval" / "results.json").read_text())
    assert results["num_images"] == 12 and set(results["per_class"]) == {"1", "2"}
    assert (tmp_path / "model" / "calibration.json").is_file()
    merged = {"train_input": {**params["train_input"], "defect_class_names": None, "validation_split": None},
              "runconfig": {**params["runconfig"], "calibrate": False}, "model": params["model"]}
    (tmp_path / "one_class.yaml").write_text(yaml.safe_dump(merged))  # records hold one mask: categories merged
    records = unet("write-tfrecords", "-p", str(tmp_path / "one_class.yaml"), "--output_directory",
                   str(tmp_path / "records"))
    assert records.returncode == 0, records.stderr
    assert "wrote 48 train and 12 test records" in records.stdout
