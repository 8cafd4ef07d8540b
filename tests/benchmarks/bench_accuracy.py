"""Accuracy on real data within a fixed training budget.

    python tests/benchmarks/bench_accuracy.py plan --datasets mt --budget 30m  # unet plan, then unet run -p
    python tests/benchmarks/bench_accuracy.py plan             # mt 30m, cf, mt_rare and tall 10m each
    tests/benchmarks/slow_cpu.sh 58 --machine --isa AVX2 python tests/benchmarks/bench_accuracy.py plan
    python tests/benchmarks/bench_accuracy.py                 # presets: 40 TFLOP each
    python tests/benchmarks/bench_accuracy.py --budget 10 --only own,own_no_sampling

`plan`: for each dataset, `unet plan <folder> --budget B` then `unet run -p plan.yaml` with no
other setting (the seed aside, with --seeds), as a user runs them; it prints the plan's choices,
the learning curve on the validation part, the test images' scores at the end with the line's
operating point, the plan's step time against the run's median, the wall time and the TFLOP
trained; then (--recalls) it calibrates the model to each recall of defective parts on the
validation part and prints what the test images get there. The datasets (plan_datasets.py):
the magnetic tiles (mt: a seeded, by-type stratified 80/20 train/ and test/ layout of
../shared/realdata/magnetic_tile, linked, not copied), CrackForest (cf: the folder as it is,
every part defective, so the plan holds a seeded 20 % out as test images), a few defective
tiles among many good ones (mt_rare: every good tile of the split and 25 defective ones to
train, 15 to test), tall images (tall: tiles squared to 256 x 256 and stacked four high, about
15 % of them with one defective tile, defects a fifth of a percent of the image) and the
synthetic rare-defect stand-in (rare: `unet synth rare`, 80 images). `--keep DIR` keeps the
plans, logs and model_dirs.

Presets (no subcommand): the reference-style settings against the own-data preset
(configs/params_folder.yaml), on CrackForest (../shared/realdata).

CrackForest: 118 road-surface photographs (480x320) whose cracks are 1.6 % of the pixels, held
out by the preset's seeded train_test_split (0.8: 94 train, 24 evaluation images). Every
setting trains for the same budget in FLOPs (images x forward-and-backward FLOPs of its
network at its training size) and is evaluated on the same held-out images at their own size.
Each run is `unet run --mode train_and_eval` in its own process. It prints the CPU and its
flags, the budget, and defect Dice, defect IoU, per-image Dice and image F1 side by side with
the wall time; nothing here asserts a score.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from unet_defects.adapters.hardware import cpu_flags, cpu_model  # noqa: E402
from unet_defects.application.info import describe_cpu_flags  # noqa: E402
from unet_defects.configs.loader import load_experiment, preset_path  # noqa: E402

DATA = ROOT.parent / "shared" / "realdata" / "crackforest"
PRESET = preset_path("params_folder.yaml")
# The reference's way, on the same data: squash to a fixed size, pixel cross-entropy, no
# sampling, no normalization, the reference topology, a constant learning rate.
REFERENCE_STYLE = {
    "train_input.image_shape": "[128, 192, 1]", "train_input.image_fit": "resize",
    "train_input.defect_sampling": "0.0", "model.loss": "bce", "model.normalization": "none",
    "model.encoder_filters": "[32, 64, 128, 256]", "model.decoder_filters": "[128, 64, 32]",
    "optimizer.learning_rate": "1.0e-3", "model.eval_thresholds": "[]",
}
# name -> --set overrides of the own-data preset (the preset itself is "own").
VARIANTS: dict[str, dict[str, str]] = {
    "reference": REFERENCE_STYLE,
    "own": {},
    "own_no_sampling": {"train_input.defect_sampling": "0.0"},
    "own_no_normalization": {"model.normalization": "none"},
    "own_bce": {"model.loss": "bce"},
    "own_resize": {"train_input.image_fit": "resize", "train_input.image_shape": "[128, 192, 1]"},
    "own_full_width": {"model.encoder_filters": "[32, 64, 128, 256]", "model.decoder_filters": "[128, 64, 32]"},
    "own_group_norm": {"model.normalization": "group"},
    "own_tversky": {"model.loss": "bce_tversky"},
}


def steps_for(budget_flops: float, sets: dict[str, str], data: Path = DATA) -> tuple[int, int, float]:
    """(steps, images, FLOPs per image) that fit the budget for these settings."""
    overrides = [f"{key}={value}" for key, value in sets.items()]
    experiment = load_experiment(PRESET, overrides=["train_input.dataset_path=" + str(data), *overrides])
    per_step = experiment.training_cost(1)
    steps = int(budget_flops // per_step.flops)
    return steps, per_step.images * steps, per_step.flops_per_image


def run(name: str, sets: dict[str, str], budget_flops: float, work: Path, data: Path = DATA) -> dict:
    steps, images, flops_per_image = steps_for(budget_flops, sets, data)
    model_dir = work / name
    command = [sys.executable, "-m", "unet_defects.cli", "run", "--params", str(PRESET), "--mode", "train_and_eval",
               "--model_dir", str(model_dir), "--set", f"train_input.dataset_path={data}",
               "--set", f"runconfig.max_steps={steps}", "--set", f"runconfig.save_checkpoints_steps={steps}",
               "--set", "runconfig.keep_best=null"]
    for key, value in sets.items():
        command += ["--set", f"{key}={value}"]
    tick = time.perf_counter()
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    seconds = time.perf_counter() - tick
    if result.returncode != 0:
        raise SystemExit(f"{name} failed:\n{result.stderr[-3000:]}")
    scores = json.loads((model_dir / "eval" / "results.json").read_text())
    print(f"  {name}: {steps} steps, {images} images x {flops_per_image / 1e9:.2f} GFLOP, {seconds:.0f} s: "
          f"defect_Dice {scores['defect_Dice']:.4f}", flush=True)
    return {"name": name, "steps": steps, "tflop": images * flops_per_image / 1e12, "seconds": seconds, **scores}


def main() -> None:
    if sys.argv[1:2] == ["plan"]:
        from tests.benchmarks.plan_runs import main as plan_main

        return plan_main(sys.argv[2:])
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--budget", type=float, default=40.0, help="training budget per setting, in TFLOP")
    parser.add_argument("--only", default="reference,own", help=f"comma-separated, of: {', '.join(VARIANTS)}")
    parser.add_argument("--data", type=Path, default=DATA, help="another images/ + masks/ folder instead")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="also override this key in every setting (e.g. train_input.image_shape=[64, 64, 1])")
    args = parser.parse_args()
    if not args.data.is_dir():
        raise SystemExit(f"{args.data}: not found (the real data lives in ../shared/realdata)")
    common = dict(item.split("=", 1) for item in args.set)
    flags = cpu_flags()
    print(f"CPU: {cpu_model()}; {describe_cpu_flags(flags)}")
    print(f"{args.data}, budget {args.budget:g} TFLOP per setting, evaluated on the held-out images at their "
          f"own size{'; also ' + ', '.join(args.set) if args.set else ''}")
    rows = []
    with tempfile.TemporaryDirectory(prefix="unet-accuracy-") as work:
        for name in args.only.split(","):
            rows.append(run(name, {**VARIANTS[name], **common}, args.budget * 1e12, Path(work), args.data))
    print()
    print(f"{'setting':<22} {'steps':>6} {'TFLOP':>6} {'wall s':>7} {'defect_Dice':>12} {'defect_IoU':>11} "
          f"{'per_image_Dice':>15} {'image_F1':>9}")
    for row in rows:
        print(f"{row['name']:<22} {row['steps']:>6} {row['tflop']:>6.1f} {row['seconds']:>7.0f} "
              f"{row['defect_Dice']:>12.4f} {row['defect_IoU']:>11.4f} {row['per_image_Dice']:>15.4f} "
              f"{row['image_F1']:>9.4f}")


if __name__ == "__main__":
    main()
