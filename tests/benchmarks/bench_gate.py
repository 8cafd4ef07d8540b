"""The classifier head's two targets (run by bench_classes.py --target gate / labels, or alone):

    python tests/benchmarks/bench_gate.py                 # both
    python tests/benchmarks/bench_gate.py --target gate --steps 1200

- gate: on `unet synth rare` data (own folders, most parts clean, small low-contrast defects),
  one model with `model.classifier_head` is trained on crops, calibrated on a validation part
  (pixel threshold and min_area, then the gate) and scored on separate test images: the
  false-alarm rate on good images (image-level false positives / good images) and the image
  recall of the segmentation rule against the gate, on the same model (target: the rate at most
  half, the recall at most 0.02 lower).
- labels: on `unet synth rare` data of 64 to 72 pixels a side squashed to 64 x 64 (40 %
  defective; 30 % of the draws from images with a mask), masks are kept for 25 % of the
  defective training images
  (`train_input.masked_fraction: 0.25`). One model also learns from the other defective images'
  labels (`image_labels_only`); the other trains on the 25 % alone. Both are calibrated on a
  validation part and scored on the test images with `decision_gate: classifier` (target: the
  first's image-level F1 higher).

Prints the CPU flags and every figure and ratio; asserts nothing.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

NETWORK = {"encoder_filters": [8, 16, 32, 64], "decoder_filters": [32, 16, 8], "normalization": "batch",
           "loss": "bce_dice", "data_format": "channels_last", "mixed_precision": False, "classifier_head": True}


def trained_and_scored(params: dict) -> dict:
    """Train, calibrate on the validation part, score the test images: results.json's dict."""
    from unet_defects.container import build_container

    container = build_container(params)
    container.train().execute()
    build_container(params).calibrate().execute()
    return build_container(params).evaluate().execute(split="test").as_dict()


def false_alarms(work: Path, steps: int, contrast: float) -> None:
    from unet_defects.adapters.datasets.synthetic_rare import SyntheticRareSpec, generate

    data = work / "rare"
    faint = {"defective_fraction": 0.2, "min_side": 64, "max_side": 160, "contrast": contrast}
    generate(SyntheticRareSpec(images=320, seed=21, **faint), data / "train")
    generate(SyntheticRareSpec(images=600, seed=22, **faint), data / "test")
    params = {
        "train_input": {"dataset": "ImageFolderDataset", "dataset_path": str(data), "image_shape": [64, 64, 1],
                        "image_fit": "crop", "defect_sampling": 0.5, "validation_split": 0.25, "seed": 3,
                        "normalize_data_method": "zero_centered", "train_batch_size": 8, "eval_batch_size": 8},
        "model": dict(NETWORK),
        "optimizer": {"optimizer_type": "adam", "learning_rate": 2.0e-3},
        "runconfig": {"model_dir": str(work / "gate_model"), "max_steps": steps, "save_checkpoints_steps": steps,
                      "log_step_count_steps": max(steps // 4, 1), "tf_random_seed": 5},
    }
    gate = trained_and_scored(params)["gate"]
    rule, gated = gate["segmentation"], gate["classifier"]
    print(f"gate (synth rare, {steps} steps; test images): chosen threshold {gate['threshold']:g}, "
          f"area bar {gate['area_bar']}")
    for name, block in (("segmentation rule", rule), ("classifier gate", gated)):
        print(f"  {name:<18} false alarms {block['false_alarm_rate']:.4f}, image recall {block['image_recall']:.4f}, "
              f"image precision {block['image_precision']:.4f}, image F1 {block['image_F1']:.4f}, "
              f"defect Dice {block['defect_Dice']:.4f}")
    ratio = gated["false_alarm_rate"] / rule["false_alarm_rate"] if rule["false_alarm_rate"] else float("nan")
    print(f"  false-alarm ratio {ratio:.3f} (target <= 0.5); recall change "
          f"{gated['image_recall'] - rule['image_recall']:+.4f} (target >= -0.02)")


def image_labels(work: Path, steps: int, contrast: float) -> None:
    """Parts of 64 to 72 pixels a side, squashed to 64 x 64: the defects stay a few pixels wide."""
    from unet_defects.adapters.datasets.synthetic_rare import SyntheticRareSpec, generate

    data = work / "labels"
    faint = {"defective_fraction": 0.4, "min_side": 64, "max_side": 72, "contrast": contrast}
    generate(SyntheticRareSpec(images=320, seed=31, **faint), data / "train")
    generate(SyntheticRareSpec(images=160, seed=32, **faint), data / "test")
    scores = {}
    for name, extra in (("labels of all", {"image_labels_only": True}), ("25 % alone", {})):
        params = {
            "train_input": {"dataset": "ImageFolderDataset", "dataset_path": str(data),
                            "image_shape": [64, 64, 1], "masked_fraction": 0.25, "defect_sampling": 0.3,
                            "validation_split": 0.25, "seed": 3,
                            "normalize_data_method": "zero_centered", "train_batch_size": 8, "eval_batch_size": 8,
                            **extra},
            "model": {**NETWORK, "decision_gate": "classifier"},
            "optimizer": {"optimizer_type": "adam", "learning_rate": 2.0e-3},
            "runconfig": {"model_dir": str(work / f"labels_{len(scores)}"), "max_steps": steps,
                          "save_checkpoints_steps": steps, "log_step_count_steps": max(steps // 4, 1),
                          "tf_random_seed": 5},
        }
        result = trained_and_scored(params)
        scores[name] = result
        gate = result["gate"]
        print(f"labels: {name:<14} gated image F1 {result['image_F1']:.4f} (precision {result['image_precision']:.4f}, "
              f"recall {result['image_recall']:.4f}); classifier AUROC {_shown(gate['classifier']['image_AUROC'])}; "
              f"segmentation rule alone image F1 {gate['segmentation']['image_F1']:.4f}; defect Dice "
              f"{result['defect_Dice']:.4f}")
    first, second = (scores[k]["image_F1"] for k in ("labels of all", "25 % alone"))
    print(f"  image F1 with every image label {first:.4f} against the 25 % alone {second:.4f} "
          f"(difference {first - second:+.4f}; target > 0)")


def _shown(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.4f}"


def main(argv: list[str] | None = None) -> None:
    from tests.benchmarks.bench_tiling_memory import cpu_flags_line

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target", choices=("gate", "labels", "both"), default="both")
    parser.add_argument("--steps", type=int, default=800, help="training steps of each model")
    parser.add_argument("--gate_contrast", type=float, default=18.0, help="gate: the defects' brightness change")
    parser.add_argument("--labels_contrast", type=float, default=30.0, help="labels: the defects' brightness change")
    args = parser.parse_args(argv)
    print(cpu_flags_line())
    work = Path(tempfile.mkdtemp(prefix="bench_gate-"))
    if args.target in ("gate", "both"):
        false_alarms(work, args.steps, args.gate_contrast)
    if args.target in ("labels", "both"):
        image_labels(work, args.steps, args.labels_contrast)


if __name__ == "__main__":
    main()
