"""`bench_accuracy.py plan`: unet plan, then unet run -p plan.yaml, on real and stand-in data
(the docstring of bench_accuracy.py says what each dataset is)."""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
REAL = ROOT.parent / "shared" / "realdata"
DATASETS = ("mt", "cf", "rare")


def magnetic_tile_layout(work: Path, seed: int = 1) -> Path:
    """train/ and test/ (80/20 of every type, seeded) of the magnetic tiles, as symbolic links."""
    source = REAL / "magnetic_tile"
    stems = sorted(path.stem for path in (source / "images").glob("*.jpg"))
    by_type = defaultdict(list)
    for stem in stems:
        by_type[stem.split("_")[1]].append(stem)
    rng = random.Random(seed)
    test = set()
    for kind in sorted(by_type):
        chosen = by_type[kind][:]
        rng.shuffle(chosen)
        test.update(chosen[: round(0.2 * len(chosen))])
    root = work / "magnetic_tile"
    for stem in stems:
        split = "test" if stem in test else "train"
        for folder, suffix in (("images", ".jpg"), ("masks", ".png")):
            target = root / split / folder
            target.mkdir(parents=True, exist_ok=True)
            os.symlink(source / folder / f"{stem}{suffix}", target / f"{stem}{suffix}")
    return root


def dataset(name: str, work: Path) -> Path:
    if name == "mt":
        if not (REAL / "magnetic_tile").is_dir():
            raise SystemExit(f"{REAL / 'magnetic_tile'}: not found")
        return magnetic_tile_layout(work)
    if name == "cf":
        if not (REAL / "crackforest").is_dir():
            raise SystemExit(f"{REAL / 'crackforest'}: not found")
        return REAL / "crackforest"
    root = work / "rare"
    unet("synth", "rare", "--output", str(root), "--images", "80", "--seed", "4")
    return root


def unet(*args: str) -> subprocess.CompletedProcess:
    result = subprocess.run([sys.executable, "-m", "entrypoints.cli", *args], cwd=ROOT, capture_output=True,
                            text=True)
    if result.returncode != 0:
        raise SystemExit(f"unet {' '.join(args)} failed:\n{result.stderr[-3000:]}")
    return result


def curve(model_dir: Path) -> list[tuple[int, float, float | None]]:
    points = []
    for path in (model_dir / "eval").glob("results-*.json"):
        scores = json.loads(path.read_text())
        points.append((scores["global_step"], scores["defect_Dice"], scores["image_AUROC"]))
    return sorted(points)


def figure(value: float | None) -> str:
    return "  n/a" if value is None else f"{value:.3f}"


def run_one(name: str, data: Path, budget: str, seed: int, work: Path, sets: list[str] = (),
            plan_sets: list[str] = ()) -> dict:
    plan = work / f"plan-{name}-{seed}.yaml"
    tick = time.perf_counter()
    # the seed is planned with, so the plan reads the training part of that seed's split
    unet("plan", str(data), "--budget", budget, "--output", str(plan), f"--set=train_input.seed={seed}",
         *[f"--set={s}" for s in plan_sets])
    planning = time.perf_counter() - tick
    params = yaml.safe_load(plan.read_text())
    for line in plan.read_text().splitlines():  # the timed precisions, as the plan's comment gives them
        if line.strip().startswith("precision:"):
            print(f"  {name} seed {seed}: plan chose {line.strip()}", flush=True)
    params["runconfig"]["model_dir"] = str(work / f"model-{name}-{seed}")
    for assignment in sets:  # an ablation: one planned choice changed
        key, value = assignment.split("=", 1)
        section, name_ = key.split(".", 1)
        params.setdefault(section, {})[name_] = yaml.safe_load(value)
    plan.write_text(yaml.safe_dump(params, sort_keys=False))
    tick = time.perf_counter()
    ran = unet("run", "-p", str(plan))
    seconds = time.perf_counter() - tick
    model_dir = Path(params["runconfig"]["model_dir"])
    results = json.loads((model_dir / "eval" / "results.json").read_text())
    from configs.loader import load_experiment

    experiment = load_experiment(plan)
    final_step = max(step for step, *_ in curve(model_dir))
    trained = experiment.training_cost(final_step).flops / 1e12
    row = {"name": name, "seed": seed, "planning_s": planning, "run_s": seconds, "tflop": trained,
           "crop": params["train_input"]["image_shape"][:2], "downscale": params["model"]["input_downscale"],
           "batch": params["train_input"]["train_batch_size"], "max_steps": params["runconfig"]["max_steps"],
           "stopped_by_budget": "time_budget ran out" in ran.stdout, "curve": curve(model_dir),
           "validation": results.get("validation", results), "test": results.get("test", results)}
    print(f"  {name} seed {seed}: plan {planning:.0f} s; crops {row['crop']} at 1/{row['downscale']}, batch "
          f"{row['batch']}, input {params['model'].get('input_standardization', 'none')}, defect draws by "
          f"{params['train_input'].get('defect_sampling_by', 'image')}, {row['max_steps']} steps planned; run {seconds:.0f} s, {trained:.1f} TFLOP; test "
          f"defect_Dice {row['test']['defect_Dice']:.3f} image_AUROC {figure(row['test']['image_AUROC'])}",
          flush=True)
    for step, dice, auroc in row["curve"]:
        print(f"      validation at step {step}: defect_Dice {dice:.3f} image_AUROC {figure(auroc)}", flush=True)
    return row


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="bench_accuracy.py plan")
    parser.add_argument("--datasets", default=",".join(DATASETS), help=f"comma-separated, of {', '.join(DATASETS)}")
    parser.add_argument("--budget", default="30m", help="unet plan --budget for every dataset")
    parser.add_argument("--budgets", default="", help="per dataset, e.g. mt=30m,cf=7m (overrides --budget)")
    parser.add_argument("--seeds", default="0", help="train_input.seed values, comma-separated")
    parser.add_argument("--set", action="append", default=[], metavar="SECTION.KEY=VALUE",
                        help="change a planned choice after planning, before the run, repeatable")
    parser.add_argument("--plan_set", action="append", default=[], metavar="SECTION.KEY=VALUE",
                        help="unet plan --set: fix a choice, then time and size the run with it (an ablation)")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    from adapters.hardware import cpu_flags, cpu_model
    from application.info import describe_cpu_flags

    budgets = dict(item.split("=") for item in args.budgets.split(",") if item)
    print(f"CPU: {cpu_model()}, {os.cpu_count()} cores; {describe_cpu_flags(cpu_flags())}")
    if args.set or args.plan_set:
        print("changed from the plan: " + ", ".join(args.plan_set + args.set))
    rows = []
    with tempfile.TemporaryDirectory(prefix="unet-plan-bench-") as scratch:
        work = Path(scratch)
        for name in args.datasets.split(","):
            data = dataset(name, work)
            for seed in (int(s) for s in args.seeds.split(",")):
                rows.append(run_one(name, data, budgets.get(name, args.budget), seed, work, args.set, args.plan_set))
    print()
    print(f"{'data':<5}{'seed':>5}{'budget':>8}{'run s':>7}{'TFLOP':>7}{'steps':>7}  {'val Dice':>9}{'val AUROC':>10}"
          f"{'test Dice':>10}{'test AUROC':>11}{'test F1':>8}")
    for row in rows:
        print(f"{row['name']:<5}{row['seed']:>5}{budgets.get(row['name'], args.budget):>8}{row['run_s']:>7.0f}"
              f"{row['tflop']:>7.1f}{row['curve'][-1][0]:>7}  {row['validation']['defect_Dice']:>9.3f}"
              f"{figure(row['validation']['image_AUROC']):>10}{row['test']['defect_Dice']:>10.3f}"
              f"{figure(row['test']['image_AUROC']):>11}{row['test']['image_F1']:>8.3f}")
