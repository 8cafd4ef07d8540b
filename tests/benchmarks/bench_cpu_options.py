"""What TensorFlow's CPU options do to training speed here: each option against the defaults,
alternating in one run, as a ratio.

    python tests/benchmarks/bench_cpu_options.py            # the demo's network and images
    python tests/benchmarks/bench_cpu_options.py --reference --size 128

Every measurement is `unet run --mode train_benchmark` in its own process (the options are
environment variables TensorFlow reads at start-up), on one in-memory batch, so it measures
the training step alone. It prints the CPU and its flags, one line per run and a table of
medians and ratios; nothing here asserts a speed.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from unet_defects.adapters.hardware import cpu_flags, cpu_model  # noqa: E402
from unet_defects.application.info import describe_cpu_flags  # noqa: E402

CORES = os.cpu_count() or 1
# name -> environment variables added to the defaults
OPTIONS: dict[str, dict[str, str]] = {
    f"intra-op {CORES}, inter-op 1": {"TF_NUM_INTRAOP_THREADS": str(CORES), "TF_NUM_INTEROP_THREADS": "1"},
    f"intra-op {CORES}, inter-op {CORES}": {"TF_NUM_INTRAOP_THREADS": str(CORES),
                                            "TF_NUM_INTEROP_THREADS": str(CORES)},
    "intra-op 1 (one core)": {"TF_NUM_INTRAOP_THREADS": "1", "TF_NUM_INTEROP_THREADS": "1"},
    "oneDNN off (Eigen kernels)": {"TF_ENABLE_ONEDNN_OPTS": "0"},
    "XLA auto-clustering": {"TF_XLA_FLAGS": "--tf_xla_auto_jit=2 --tf_xla_cpu_global_jit"},
}
# name -> --set overrides of the project's own options, measured the same way
SETTINGS: dict[str, dict[str, str]] = {
    "XLA-compiled step (jit_compile)": {"runconfig.jit_compile": "true"},
}
BASELINE_SETS = {"runconfig.jit_compile": "false"}  # the defaults side: TensorFlow's graph, no XLA


def train_benchmark(args: argparse.Namespace, extra_env: dict[str, str], extra_sets: dict[str, str]) -> dict:
    sets = {
        "train_input.dataset": "external",
        "train_input.image_shape": f"[{args.size}, {args.size}, 1]",
        "train_input.train_batch_size": args.batch,
        "model.precision": "float32",
        "runconfig.model_dir": "/tmp/unet-bench-options",
        "runconfig.tf_random_seed": "null",  # the demo's seed would keep XLA off
        **BASELINE_SETS,
        **extra_sets,
    }
    params = ROOT / "configs" / ("params_dagm.yaml" if args.reference else "params_demo.yaml")
    command = [sys.executable, "-m", "unet_defects.cli", "run", "--params", str(params), "--mode", "train_benchmark",
               "--steps", str(args.steps), "--warmup_steps", str(args.warmup)]
    for key, value in sets.items():
        command += ["--set", f"{key}={value}"]
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", **extra_env}
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, env=env)
    if result.returncode != 0:
        raise SystemExit(f"failed ({extra_env}): {result.stderr[-1500:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reference", action="store_true", help="the reference topology instead of the demo's")
    parser.add_argument("--size", type=int, default=96)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--only", help="comma-separated option names (default: all)")
    args = parser.parse_args()
    flags = cpu_flags()
    print(f"CPU: {cpu_model()}, {CORES} cores; {describe_cpu_flags(flags)}")
    network = "reference UNet" if args.reference else "demo UNet (half width)"
    print(f"{network}, {args.size}x{args.size}x1, batch {args.batch}, float32, {args.steps} timed steps after "
          f"{args.warmup} warm-up, {args.repeats} alternating runs per side")
    variants = {name: (env, {}) for name, env in OPTIONS.items()}
    variants.update({name: ({}, sets) for name, sets in SETTINGS.items()})
    chosen = {name: variant for name, variant in variants.items() if not args.only or name in args.only.split(",")}
    rows = []
    for name, (env, sets) in chosen.items():
        defaults, option = [], []
        for index in range(args.repeats):
            defaults.append(train_benchmark(args, {}, {}))
            option.append(train_benchmark(args, env, sets))
            print(f"  {name} run {index + 1}: defaults {defaults[-1]['images_per_second']:.2f}, "
                  f"option {option[-1]['images_per_second']:.2f} images/s (warm-up {defaults[-1]['warmup_seconds']:.0f}"
                  f" s, {option[-1]['warmup_seconds']:.0f} s)", flush=True)
        rows.append((name, median(defaults), median(option), median(defaults, "achieved_gflops")))
    print()
    print(f"{'option':<34} {'defaults img/s':>15} {'option img/s':>13} {'ratio':>7} {'defaults GFLOP/s':>17}")
    for name, base, value, gflops in rows:
        print(f"{name:<34} {base:>15.2f} {value:>13.2f} {value / base:>7.2f} {gflops:>17.1f}")


def median(runs: list[dict], key: str = "images_per_second") -> float:
    return statistics.median(run[key] for run in runs)


if __name__ == "__main__":
    main()
