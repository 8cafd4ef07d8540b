"""`bench_accuracy.py plan`: unet plan, then unet run -p plan.yaml, on real and stand-in data
(the docstring of bench_accuracy.py says what each dataset is)."""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

from tests.benchmarks.plan_datasets import DATASETS, dataset

ROOT = Path(__file__).resolve().parents[2]


def unet(*args: str) -> subprocess.CompletedProcess:
    result = subprocess.run([sys.executable, "-m", "unet_defects.cli", *args], cwd=ROOT, capture_output=True,
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


EVALUATED = re.compile(r"at step \d+: defect Dice .*\(\d+ images in ([0-9.]+) s\)")
PLANNED_EVALUATION = re.compile(r"evaluations of about ([0-9.]+) s")
PACE = re.compile(r"training ran at a median ([0-9.]+) s a step, .* the plan's ([0-9.]+) s")


def at_recall(plan: Path, model_dir: Path, recall: float) -> dict:
    """The run's model calibrated to find `recall` of the validation part's defective parts, then
    its test images scored at that verdict: the test's operating point."""
    unet("calibrate", "--model_dir", str(model_dir), "--image_recall", str(recall))
    unet("run", "-p", str(plan), "--mode", "eval")
    return json.loads((model_dir / "eval" / "results.json").read_text()).get("test", {}).get("operating_point", {})


def run_one(name: str, data: Path, budget: str, seed: int, work: Path, sets: list[str] = (),
            plan_sets: list[str] = (), recalls: list[float] = ()) -> dict:
    plan = work / f"plan-{name}-{seed}.yaml"
    tick = time.perf_counter()
    # the seed is planned with, so the plan reads the training part of that seed's split
    planned = unet("plan", str(data), "--budget", budget, "--output", str(plan), f"--set=train_input.seed={seed}",
                   *[f"--set={s}" for s in plan_sets])
    planning = time.perf_counter() - tick
    (work / f"plan-{name}-{seed}.log").write_text(planned.stdout + planned.stderr)
    params = yaml.safe_load(plan.read_text())
    for line in plan.read_text().splitlines():  # the timed precisions, as the plan's comment gives them
        if line.strip().startswith(("precision:", "classifier_head:")):
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
    (work / f"run-{name}-{seed}.log").write_text(ran.stdout + ran.stderr)
    model_dir = Path(params["runconfig"]["model_dir"])
    results = json.loads((model_dir / "eval" / "results.json").read_text())
    from unet_defects.configs.loader import load_experiment

    experiment = load_experiment(plan)
    final_step = max(step for step, *_ in curve(model_dir))
    trained = experiment.training_cost(final_step).flops / 1e12
    pace = PACE.search(ran.stdout + ran.stderr)
    row = {"name": name, "seed": seed, "budget": budget, "planning_s": planning, "run_s": seconds, "tflop": trained,
           "crop": params["train_input"]["image_shape"][:2], "downscale": params["model"]["input_downscale"],
           "batch": params["train_input"]["train_batch_size"], "max_steps": params["runconfig"]["max_steps"],
           "head": params["model"].get("classifier_head", False),
           "stopped_by_budget": "time_budget ran out" in ran.stdout, "curve": curve(model_dir),
           "run_step_s": float(pace.group(1)) if pace else None, "plan_step_s": float(pace.group(2)) if pace else None,
           "validation": results.get("validation", results), "test": results.get("test", results)}
    line = next((text for text in reversed(ran.stdout.splitlines()) if text.strip().startswith("the line:")), "")
    print(f"  {name} seed {seed}: plan {planning:.0f} s; crops {row['crop']} at 1/{row['downscale']}, batch "
          f"{row['batch']}, head {row['head']}, {row['max_steps']} steps planned; run {seconds:.0f} s of {budget}, "
          f"{trained:.1f} TFLOP, step {figure(row['run_step_s'])} s against the plan's {figure(row['plan_step_s'])} s; "
          f"test defect_Dice {row['test']['defect_Dice']:.3f} image_AUROC {figure(row['test']['image_AUROC'])} "
          f"({row['test'].get('image_AUROC_score')}), image_F1 {row['test']['image_F1']:.3f}", flush=True)
    if line:
        print(f"    test, {line.strip()}", flush=True)
    for key, entry in sorted(row["test"].get("per_class", {}).items(), key=lambda item: int(item[0])):
        print(f"    test class {key} {entry['name']}: defect_Dice {entry['defect_Dice']:.3f} image_AUROC "
              f"{figure(entry.get('image_AUROC'))} image_F1 {figure(entry.get('image_F1'))}"
              + (" COLLAPSED" if entry.get("collapsed") else ""), flush=True)
    timed = [float(s) for s in EVALUATED.findall(ran.stdout + ran.stderr)]
    planned_each = PLANNED_EVALUATION.search(planned.stdout + planned.stderr)
    if timed and planned_each:
        each = float(planned_each.group(1))
        print(f"    evaluations during training: {', '.join(f'{s:.1f}' for s in timed)} s against the plan's {each:.1f} s "
              f"(median ratio {sorted(timed)[len(timed) // 2] / each:.2f})", flush=True)
    sizes = [row["test"].get(f"defect_recall_{size}") for size in ("small", "medium", "large")]
    print(f"    test defect recall by size (small / medium / large): {' / '.join(figure(v) for v in sizes)}", flush=True)
    for step, dice, auroc in row["curve"]:
        print(f"      validation at step {step}: defect_Dice {dice:.3f} image_AUROC {figure(auroc)}", flush=True)
    if row["test"].get("image_AUROC") is not None and recalls:  # good parts to stop: the line's operating points
        kept = {path: path.read_bytes() for path in (model_dir / "calibration.json", model_dir / "eval" / "results.json")}
        for recall in recalls:
            point = at_recall(plan, model_dir, recall)
            row.setdefault("at_recall", {})[recall] = point
            print(f"    calibrated to image recall {recall:g} on the validation part: the test's recall "
                  f"{figure(point.get('image_recall'))} at false-alarm rate {figure(point.get('false_alarm_rate'))}",
                  flush=True)
        for path, content in kept.items():  # the model_dir as the run left it
            path.write_bytes(content)
    return row


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="bench_accuracy.py plan")
    parser.add_argument("--datasets", default="mt,cf,mt_rare,tall", help=f"comma-separated, of {', '.join(DATASETS)}")
    parser.add_argument("--budget", default="30m", help="unet plan --budget for every dataset")
    parser.add_argument("--budgets", default="cf=10m,mt_rare=10m,tall=10m,rare=2m",
                        help="per dataset (over --budget), e.g. mt=30m,cf=10m")
    parser.add_argument("--seeds", default="0", help="train_input.seed values, comma-separated")
    parser.add_argument("--set", action="append", default=[], metavar="SECTION.KEY=VALUE",
                        help="change a planned choice after planning, before the run, repeatable")
    parser.add_argument("--plan_set", action="append", default=[], metavar="SECTION.KEY=VALUE",
                        help="unet plan --set: fix a choice, then time and size the run with it (an ablation)")
    parser.add_argument("--recalls", default="0.95,0.99",
                        help="after each run, calibrate to these recalls of defective parts and score the test there")
    parser.add_argument("--keep", type=Path, default=None, metavar="DIR",
                        help="work in DIR and keep the plans, logs and model_dirs (default: a temporary folder)")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    from unet_defects.adapters.hardware import cpu_flags, cpu_model
    from unet_defects.application.info import describe_cpu_flags

    budgets = dict(item.split("=") for item in args.budgets.split(",") if item)
    print(f"CPU: {cpu_model()}, {os.cpu_count()} cores; {describe_cpu_flags(cpu_flags())}")
    if args.set or args.plan_set:
        print("changed from the plan: " + ", ".join(args.plan_set + args.set))
    rows = []
    with tempfile.TemporaryDirectory(prefix="unet-plan-bench-") as scratch:
        work = Path(scratch) if args.keep is None else args.keep
        work.mkdir(parents=True, exist_ok=True)
        for name in args.datasets.split(","):
            data = dataset(name, work)
            for seed in (int(s) for s in args.seeds.split(",")):
                rows.append(run_one(name, data, budgets.get(name, args.budget), seed, work, args.set, args.plan_set,
                                    [float(r) for r in args.recalls.split(",") if r]))
    print_table(rows)


def print_table(rows: list[dict]) -> None:
    print()
    print(f"{'data':<8}{'seed':>5}{'budget':>7}{'run s':>7}{'steps':>7}{'step s':>8}{'plan s':>8}{'ratio':>7}"
          f"{'Dice':>7}{'AUROC':>7}{'peak':>7}{'F1':>7}{'recall':>7}{'FAR':>7}{'r@1%':>7}{'r@5%':>7}{'small':>7}")
    for row in rows:
        test = row["test"]
        point = test.get("operating_point") or {}
        ranked = point.get("recall_at_false_alarm_rate") or {}
        ratio = row["run_step_s"] / row["plan_step_s"] if row["run_step_s"] and row["plan_step_s"] else None
        print(f"{row['name']:<8}{row['seed']:>5}{row['budget']:>7}{row['run_s']:>7.0f}{row['curve'][-1][0]:>7}"
              f"{figure(row['run_step_s']):>8}{figure(row['plan_step_s']):>8}{figure(ratio):>7}"
              f"{test['defect_Dice']:>7.3f}{figure(test['image_AUROC']):>7}"
              f"{figure(test.get('image_AUROC_max_probability')):>7}{test['image_F1']:>7.3f}"
              f"{figure(point.get('image_recall')):>7}{figure(point.get('false_alarm_rate')):>7}"
              f"{figure(ranked.get('0.01')):>7}{figure(ranked.get('0.05')):>7}"
              f"{figure(test.get('defect_recall_small')):>7}")
    for row in rows:
        for recall, point in row.get("at_recall", {}).items():
            print(f"{row['name']:<8}{row['seed']:>5}  calibrated to recall {recall:g} on validation: test recall "
                  f"{figure(point.get('image_recall'))}, false-alarm rate {figure(point.get('false_alarm_rate'))} "
                  f"({point.get('found')} of {point.get('defective_parts')} bad parts, {point.get('false_alarms')} of "
                  f"{point.get('good_parts')} good ones)")
    print("step s: the run's median training step; plan s: what the plan timed; AUROC by the part score "
          "(image_AUROC_score), peak: by the largest pixel probability; F1, recall and FAR (false alarms / good "
          "parts) at the calibrated decision; r@1%, r@5%: recall the ranking reaches at 1 % and 5 % false alarms; "
          "small: recall of defects under 1,024 px")
