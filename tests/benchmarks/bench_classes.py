"""One model of four defect classes against four one-class models, on Severstal-layout data.

    python tests/benchmarks/bench_classes.py                      # 160 train, 40 test images, 600 steps in all
    python tests/benchmarks/bench_classes.py --steps 1200 --train_images 240

`unet synth severstal` writes a training and a separate test set (different seeds) of
256 x 1600 images with the four classes. Four one-class models (`class_id: k`) train for
steps/4 each, and one four-class model (`defect_classes: [1, 2, 3, 4]`) for steps: the same
network on the same crops, so the same total training FLOPs (the four-class output layer adds
3 x 17 weights). Every model then inspects the whole test images through the Inspector (its
own checkpoint, threshold 0.5, no min_area), timed as the median of interleaved rounds (the
machine's noise falls on every model alike); each class's pooled defect Dice is scored
against the test set's RLE rows. It prints the CPU flags, the per-class Dice of both sides, their
means, the total predict times and the ratios against the targets (mean Dice of the four-class
model >= that of the one-class models; its predict time <= 0.35 x theirs); it asserts nothing.

The other two targets of several classes (the classifier gate's false alarms, image labels
without masks) are measured by tests/benchmarks/bench_gate.py.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

CLASSES = (1, 2, 3, 4)


def params(dataset: Path, model_dir: Path, steps: int, **classes) -> dict:
    return {
        "train_input": {"dataset": "SeverstalDataset", "dataset_path": str(dataset), "image_shape": [128, 128, 1],
                        "image_fit": "crop", "include_defect_free": True, "train_test_split": 0.99,
                        "defect_sampling": 0.5, "train_batch_size": 8, "eval_batch_size": 1,
                        "normalize_data_method": "zero_centered", "seed": 3, **classes},
        "model": {"encoder_filters": [8, 16, 32, 64], "decoder_filters": [32, 16, 8], "normalization": "batch",
                  "loss": "bce_dice", "data_format": "channels_last", "mixed_precision": False},
        "optimizer": {"optimizer_type": "adam", "learning_rate": 2.0e-3},
        "runconfig": {"model_dir": str(model_dir), "max_steps": steps, "save_checkpoints_steps": steps,
                      "log_step_count_steps": max(steps // 4, 1), "tf_random_seed": 5},
    }


def test_truth(dataset: Path) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """The test images (gray) and their (H, W, 4) masks from train.csv."""
    from unet_defects.adapters.datasets.severstal_csv import read_train_csv
    from unet_defects.adapters.images import read_gray
    from unet_defects.domain import rle

    rows, _ = read_train_csv(dataset / "train.csv")
    images = sorted((dataset / "train_images").iterdir())
    index = {path.name: i for i, path in enumerate(images)}
    masks = [np.zeros((256, 1600, 4), bool) for _ in images]
    for row in rows:
        masks[index[row.image_id]][..., row.class_id - 1] |= rle.decode(row.encoded)
    return [read_gray(path) for path in images], masks


def pooled_dice(predicted: list[np.ndarray], truth: list[np.ndarray]) -> float:
    tp = sum(int(np.count_nonzero(p & t)) for p, t in zip(predicted, truth))
    total = sum(int(np.count_nonzero(p)) + int(np.count_nonzero(t)) for p, t in zip(predicted, truth))
    return 2 * tp / total if total else 1.0


def opened(model_dir: Path, images: list[np.ndarray]):
    from unet_defects.api import Inspector

    inspector = Inspector.open(model_dir=str(model_dir), threshold=0.5, min_area=0)
    inspector.inspect(images[0])  # tracing and the first call's set-up stay out of the timing
    return inspector


def timed_rounds(inspectors: dict, images: list[np.ndarray], rounds: int) -> tuple[dict, dict]:
    """Each inspector's masks and its median time over `rounds` interleaved rounds (the machine's
    noise falls on every model alike)."""
    seconds: dict = {name: [] for name in inspectors}
    masks: dict = {}
    for _ in range(rounds):
        for name, inspector in inspectors.items():
            started = time.perf_counter()
            found = inspector.inspect_many(images)
            seconds[name].append(time.perf_counter() - started)
            masks[name] = [f.mask for f in found]
    return masks, {name: float(np.median(values)) for name, values in seconds.items()}


def main() -> None:
    from tests.benchmarks.bench_tiling_memory import cpu_flags_line
    from unet_defects.adapters.datasets.synthetic_severstal import SyntheticSeverstalSpec, generate
    from unet_defects.container import build_container

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=600, help="training steps of the four-class model")
    parser.add_argument("--train_images", type=int, default=160)
    parser.add_argument("--test_images", type=int, default=40)
    parser.add_argument("--rounds", type=int, default=5, help="timed predict rounds per model (median taken)")
    args = parser.parse_args()
    print(cpu_flags_line())
    work = Path(tempfile.mkdtemp(prefix="bench_classes-"))
    train, test = work / "train", work / "test"
    generate(SyntheticSeverstalSpec(images=args.train_images, seed=11), train)
    generate(SyntheticSeverstalSpec(images=args.test_images, seed=12), test)
    images, truth = test_truth(test)
    print(f"data: {args.train_images} training and {args.test_images} test images of 256x1600 in {work}")
    each = args.steps // len(CLASSES)
    train_seconds, inspectors = {}, {}
    for class_id in CLASSES:
        model_dir = work / f"class{class_id}"
        started = time.perf_counter()
        build_container(params(train, model_dir, each, class_id=class_id)).train().execute()
        train_seconds[class_id] = time.perf_counter() - started
        inspectors[class_id] = opened(model_dir, images)
    model_dir = work / "four"
    started = time.perf_counter()
    build_container(params(train, model_dir, args.steps, defect_classes=list(CLASSES))).train().execute()
    four_train = time.perf_counter() - started
    inspectors["four"] = opened(model_dir, images)
    masks, seconds = timed_rounds(inspectors, images, args.rounds)
    one_class_dice = [pooled_dice(masks[k], [t[..., k - 1] for t in truth]) for k in CLASSES]
    for class_id, dice in zip(CLASSES, one_class_dice):
        print(f"one-class model {class_id}: {each} steps, defect Dice {dice:.4f}, predict {seconds[class_id]:.2f}s")
    four_dice = [pooled_dice([m[..., k] for m in masks["four"]], [t[..., k] for t in truth]) for k in range(len(CLASSES))]
    four_seconds, one_class_seconds = seconds["four"], sum(seconds[k] for k in CLASSES)
    print(f"four-class model: {args.steps} steps, per-class defect Dice "
          + ", ".join(f"{k} {d:.4f}" for k, d in zip(CLASSES, four_dice)) + f", predict {four_seconds:.2f}s")
    train_seconds = sum(train_seconds.values())
    one_mean, four_mean = float(np.mean(one_class_dice)), float(np.mean(four_dice))
    print(f"training: four one-class models {train_seconds:.0f}s, the four-class model {four_train:.0f}s")
    print(f"mean per-class defect Dice: four-class {four_mean:.4f}, one-class models {one_mean:.4f} "
          f"(difference {four_mean - one_mean:+.4f}; target >= 0)")
    print(f"predict time on {len(images)} test images (median of {args.rounds} interleaved rounds): four-class "
          f"{four_seconds:.2f}s, one-class models "
          f"{one_class_seconds:.2f}s, ratio {four_seconds / one_class_seconds:.3f} (target <= 0.35)")


if __name__ == "__main__":
    main()
