"""Input pipeline throughput: does every reader keep the training step fed?

For each reader (raw DAGM, raw Severstal, image folder, TFRecords) it times the training
stream alone, first pass (decoding every file) and then from the in-memory cache, and
compares with the images/s that a mixed-precision training step of the reference model
consumes at the same batch size (measured here with --mode train_benchmark). Target: every
reader delivers at least 3x what the step consumes.

    python tests/benchmarks/bench_input.py [--quick]
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.benchmarks.bench_speed import project  # noqa: E402


def make_datasets(root: Path, images: int) -> dict[str, dict]:
    from unet_defects.adapters.datasets.synthetic_dagm import SyntheticDagmSpec
    from unet_defects.adapters.datasets.synthetic_dagm import generate as generate_dagm
    from unet_defects.adapters.datasets.synthetic_severstal import SyntheticSeverstalSpec
    from unet_defects.adapters.datasets.synthetic_severstal import generate as generate_severstal

    generate_dagm(SyntheticDagmSpec(train_images=images, test_images=8, image_size=512, seed=1), root / "dagm")
    generate_severstal(SyntheticSeverstalSpec(images=images, defect_free_fraction=0.0, seed=1), root / "severstal")
    folder = root / "folder"
    (folder / "images").mkdir(parents=True)
    (folder / "masks").mkdir()
    for image in sorted((root / "dagm" / "Class1" / "Train").glob("*.PNG")):
        shutil.copy(image, folder / "images" / image.name)
        label = image.parent / "Label" / f"{image.stem}_label.PNG"
        if label.exists():
            shutil.copy(label, folder / "masks" / image.name)
    common = {"image_shape": [256, 256, 1], "normalize_data_method": "zero_centered", "seed": 0}
    return {
        "DAGM (512x512 PNG)": {"dataset": "DAGM2007Dataset", "dataset_path": str(root / "dagm"), "class_id": 1},
        "Severstal (1600x256 JPEG, squashed)": {
            "dataset": "SeverstalDataset", "dataset_path": str(root / "severstal"), "class_id": 3,
            "include_defect_free": True, "train_test_split": 0.9},
        "Severstal (1600x256 JPEG, 256x256 crops)": {
            "dataset": "SeverstalDataset", "dataset_path": str(root / "severstal"), "class_id": 3,
            "include_defect_free": True, "train_test_split": 0.9, "image_fit": "crop"},
        "image folder (512x512 PNG)": {"dataset": "ImageFolderDataset", "dataset_path": str(folder)},
        "TFRecords (from DAGM)": {"dataset": "DAGM2007TFRecordsDataset", "dataset_path": str(root / "records"),
                                  "class_id": 1, "_convert_from": str(root / "dagm")},
    }, common


def container_for(train_input: dict, common: dict, batch: int, model_dir: Path):
    from unet_defects.container import build_container

    values = {key: value for key, value in train_input.items() if not key.startswith("_")}
    params = {"train_input": {**common, **values, "train_batch_size": batch, "eval_batch_size": batch},
              "runconfig": {"model_dir": str(model_dir)}}
    return build_container(params)


def first_and_cached(stream, batches_per_pass: int, batch: int) -> tuple[float, float]:
    """images/s over the first pass (from creating the iterator: every file decoded, nothing
    read ahead before the clock starts) and over the next pass (from the cache)."""
    start = time.perf_counter()
    iterator = iter(stream)
    for _ in range(batches_per_pass):
        next(iterator)
    middle = time.perf_counter()
    for _ in range(batches_per_pass):
        next(iterator)
    end = time.perf_counter()
    images = batches_per_pass * batch
    return images / (middle - start), images / (end - middle)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="few images and no training measurement")
    parser.add_argument("--batch", type=int, default=8)
    args = parser.parse_args()
    images = 16 if args.quick else 160
    batch = args.batch
    root = Path(tempfile.mkdtemp(prefix="unet-bench-input-"))
    try:
        datasets, common = make_datasets(root, images)
        if args.quick:
            step = {"images_per_second": 1.0}
        else:
            step = project("train", "mixed_bfloat16", 256, batch, steps=10, warmup=3)
        consumed = step["images_per_second"]
        print(f"training step (reference UNet, 256x256, batch {batch}, mixed_bfloat16) consumes "
              f"{consumed:.2f} images/s")
        print("| reader | first pass, images/s | cached, images/s | first pass / step |")
        print("|---|---|---|---|")
        rows = []
        for name, train_input in datasets.items():
            if "_convert_from" in train_input:
                source = {**train_input, "dataset": "DAGM2007Dataset", "dataset_path": train_input["_convert_from"]}
                container_for(source, common, batch, root / "m").write_records().execute(
                    train_input["dataset_path"], images_per_file=32)
            reader = container_for(train_input, common, batch, root / "m").dataset()
            count = reader.training_size()
            first, iterator_rate = first_and_cached(reader.training_stream(), max(1, count // batch), batch)
            ratio = first / consumed
            rows.append({"reader": name, "first_pass": first, "cached": iterator_rate, "ratio": ratio})
            print(f"| {name} | {first:.1f} | {iterator_rate:.1f} | {ratio:.1f}x |", flush=True)
        print(json.dumps({"step_images_per_second": consumed, "readers": rows}))
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
