"""What MLflow tracking adds to a training run: the demo config trained 200 steps with and
without `--tracking_uri`, each `unet run` a process of its own, timed whole (start-up, training,
evaluations, the end's files); the target is at most 2 % more with tracking.

    python tests/benchmarks/bench_tracking.py [--steps 200] [--rounds 2]

Rounds alternate untracked and tracked runs, each into a fresh model_dir, and the medians are
compared. The store is a local sqlite file created before the timed runs (a team's store already
exists; creating one takes a few seconds once, printed apart). One untracked 1-step run first
generates the demo's dataset (~/.cache/unet-defects/dagm_demo) and warms the file caches. It
prints the CPU and its flags first; nothing here asserts a figure.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from unet_defects.adapters.hardware import cpu_flags, cpu_model  # noqa: E402
from unet_defects.application.info import describe_cpu_flags  # noqa: E402

TRAINED = re.compile(r"trained steps \d+\.\.\d+ in ([\d.]+)s")


def unet_run(model_dir: Path, steps: int, *extra: str) -> tuple[float, float | None]:
    """Seconds of the whole `unet run` of the demo, and of its training loop (from its output)."""
    command = [sys.executable, "-m", "unet_defects.cli", "run", "--model_dir", str(model_dir),
               "--max_steps", str(steps), *extra]
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    tick = time.perf_counter()
    result = subprocess.run(command, cwd=model_dir.parent, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - tick
    if result.returncode != 0:
        sys.exit(f"{' '.join(command)} failed:\n{result.stderr[-2000:]}")
    found = TRAINED.search(result.stdout)
    return seconds, float(found.group(1)) if found else None


def create_store(uri: str) -> float:
    """Seconds to create the sqlite store and its experiment, in a process of its own."""
    code = ("from unet_defects.adapters.mlflow_store import EXPERIMENT, local_artifacts\n"
            "from mlflow import MlflowClient\n"
            f"client = MlflowClient({uri!r})\n"
            f"client.get_experiment_by_name(EXPERIMENT) or client.create_experiment(EXPERIMENT, local_artifacts({uri!r}))\n")
    tick = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)
    return time.perf_counter() - tick


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=200, help="training steps of each run (default 200)")
    parser.add_argument("--rounds", type=int, default=2, help="untracked and tracked runs each (default 2)")
    args = parser.parse_args()
    print(f"CPU: {cpu_model()}, {os.cpu_count()} cores; {describe_cpu_flags(cpu_flags())}")
    with tempfile.TemporaryDirectory(prefix="bench-tracking-") as folder:
        work = Path(folder)
        uri = f"sqlite:///{work / 'store' / 'mlflow.db'}"
        (work / "store").mkdir()
        print(f"created the store {uri} in {create_store(uri):.1f}s (not timed below)")
        unet_run(work / "warm-up", 1, "--mode", "train")
        times: dict[str, list[tuple[float, float | None]]] = {"untracked": [], "tracked": []}
        for round_ in range(args.rounds):
            for label, extra in (("untracked", ()), ("tracked", ("--tracking_uri", uri))):
                seconds, loop = unet_run(work / f"{label}-{round_}", args.steps, *extra)
                times[label].append((seconds, loop))
                loop_text = f", training loop {loop:.1f}s" if loop is not None else ""
                print(f"round {round_ + 1} {label}: {seconds:.1f}s{loop_text}", flush=True)
        if not (work / "tracked-0" / "mlflow_run.json").is_file():
            sys.exit("the tracked runs recorded no MLflow run (mlflow_run.json): nothing was tracked")
    plain, tracked = (statistics.median(seconds for seconds, _ in times[label]) for label in ("untracked", "tracked"))
    ratio = tracked / plain
    print(f"{args.steps} steps of the demo (train_and_eval), median of {args.rounds}: untracked {plain:.1f}s, "
          f"tracked {tracked:.1f}s, ratio {ratio:.3f} (tracking adds {100 * (ratio - 1):+.1f} %; target <= +2 %)")


if __name__ == "__main__":
    main()
