"""Speed and memory of the project's benchmark modes against plain Keras, on this machine.

    python tests/benchmarks/bench_speed.py            # the full comparison (about 15 minutes)
    python tests/benchmarks/bench_speed.py --quick    # a smoke run with tiny images

Each configuration runs in its own process, alternating project / Keras / project / Keras,
so that drift on a shared machine hits both sides. The Keras baseline is `model.fit` (or
`model.predict`) on the identical model (the same builder output), the same in-memory batch,
batch size, precision and number of steps, with warm-up steps (compilation included) excluded.
It prints one line per measurement and a table of ratios; nothing here asserts a speed.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from unet_defects.adapters.hardware import cpu_flags, cpu_model  # noqa: E402
from unet_defects.application.info import describe_cpu_flags  # noqa: E402

# -- the Keras baseline, run in its own process ------------------------------------------------


def keras_worker(args: argparse.Namespace) -> None:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    sys.path.insert(0, str(ROOT))
    import keras
    import numpy as np
    import tensorflow as tf

    from unet_defects.adapters.engine_timer import peak_resident_bytes
    from unet_defects.adapters.tensorflow.builder import KerasUNetBuilder
    from unet_defects.domain.topology import UNetSpec

    spec = UNetSpec(image_shape=(args.size, args.size, 1), data_format=args.data_format)
    model = KerasUNetBuilder(args.precision, args.data_format).build(spec)
    rng = np.random.default_rng(0)
    images = rng.standard_normal((args.batch, args.size, args.size, 1)).astype(np.float32)
    masks = (rng.random((args.batch, args.size, args.size, 1)) < 0.05).astype(np.float32)
    ends: list[float] = []

    class BatchClock(keras.callbacks.Callback):
        """End time of every batch: the figures use only the batches after the warm-up."""

        def on_train_batch_end(self, batch, logs=None):
            ends.append(time.perf_counter())

        def on_predict_batch_end(self, batch, logs=None):
            ends.append(time.perf_counter())

    total = args.warmup + args.steps
    if args.kind == "train":
        epsilon = 1e-5 if args.precision != "float32" else 1e-8  # as the project's Adam
        model.compile(optimizer=keras.optimizers.Adam(1e-4, epsilon=epsilon),
                      loss=keras.losses.BinaryCrossentropy(from_logits=True))
        dataset = tf.data.Dataset.from_tensors((images, masks)).repeat()
        model.fit(dataset, epochs=1, steps_per_epoch=total, verbose=0, callbacks=[BatchClock()])
    else:
        model.predict(tf.data.Dataset.from_tensors(images).repeat(), steps=total, verbose=0,
                      callbacks=[BatchClock()])
    seconds = ends[-1] - ends[args.warmup - 1]
    print(json.dumps({"images_per_second": args.batch * args.steps / seconds,
                      "peak_memory_mb": peak_resident_bytes() / 2**20}))


# -- the driver --------------------------------------------------------------------------------


def run_json(command: list[str]) -> dict:
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, env=env)
    if result.returncode != 0:
        raise SystemExit(f"failed: {' '.join(command)}\n{result.stderr[-2000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def project(kind: str, precision: str, size: int, batch: int, steps: int, warmup: int,
            data_format: str = "channels_last", force_format: bool = False, steps_per_call: int = 0) -> dict:
    sets = {
        "train_input.dataset": "external",
        "train_input.image_shape": f"[{size}, {size}, 1]",
        "train_input.train_batch_size": batch,
        "train_input.eval_batch_size": batch,
        "model.data_format": data_format,
        "model.force_data_format": str(force_format).lower(),
        "model.precision": precision,
        "runconfig.model_dir": "/tmp/unet-bench-model",
        "runconfig.steps_per_call": steps_per_call,
    }
    command = [sys.executable, "-m", "unet_defects.cli", "run", "--params", str(ROOT / "configs" / "params_dagm.yaml"),
               "--mode", f"{kind}_benchmark", "--steps", str(steps), "--warmup_steps", str(warmup)]
    for key, value in sets.items():
        command += ["--set", f"{key}={value}"]
    return run_json(command)


def keras(kind: str, precision: str, size: int, batch: int, steps: int, warmup: int,
          data_format: str = "channels_last") -> dict:
    return run_json([sys.executable, __file__, "--worker", "keras", "--kind", kind, "--precision", precision,
                     "--size", str(size), "--batch", str(batch), "--steps", str(steps), "--warmup", str(warmup),
                     "--data_format", data_format])


def alternate(label: str, a, b, repeats: int, names: tuple[str, str] = ("project", "keras")) -> tuple[list[dict], list[dict]]:
    firsts, seconds = [], []
    for index in range(repeats):
        firsts.append(a())
        print(f"  {label} run {index + 1} {names[0]}: {firsts[-1]['images_per_second']:.2f} images/s", flush=True)
        seconds.append(b())
        print(f"  {label} run {index + 1} {names[1]}: {seconds[-1]['images_per_second']:.2f} images/s", flush=True)
    return firsts, seconds


def median_of(runs: list[dict], key: str = "images_per_second") -> float:
    return statistics.median(run[key] for run in runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--worker", choices=["keras"])
    parser.add_argument("--kind", default="train")
    parser.add_argument("--precision", default="float32")
    parser.add_argument("--data_format", default="channels_last")
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--memory_batch", type=int, default=64)
    parser.add_argument("--quick", action="store_true", help="tiny images and few steps: checks the script runs")
    parser.add_argument("--only", default="train,inference,memory,format,calls",
                        help="comma-separated sections to run (default: all)")
    args = parser.parse_args()
    if args.worker == "keras":
        keras_worker(args)
        return
    if args.quick:
        args.size, args.batch, args.steps, args.warmup, args.repeats, args.memory_batch = 32, 2, 3, 1, 1, 4
    args.warmup = max(1, args.warmup)  # the Keras clock starts at the end of the last warm-up batch
    sections = set(args.only.split(","))

    from unet_defects.domain.precision import native_bf16_flags

    present = cpu_flags()
    flags = native_bf16_flags(present)
    print(f"CPU: {cpu_model()}, {os.cpu_count()} cores; {describe_cpu_flags(present)}")
    print(f"model: reference UNet, {args.size}x{args.size}x1, batch {args.batch}, {args.steps} timed steps "
          f"after {args.warmup} warm-up steps, {args.repeats} alternating runs per side")
    precisions = ["float32"] + (["mixed_bfloat16"] if flags else [])
    shape = (args.size, args.batch, args.steps, args.warmup)
    rows = []
    train_ips = {}
    for kind in [k for k in ("train", "inference") if k in sections]:
        for precision in precisions:
            label = f"{kind} {precision}"
            mine, theirs = alternate(label, lambda: project(kind, precision, *shape),
                                     lambda: keras(kind, precision, *shape), args.repeats)
            ratio = median_of(mine) / median_of(theirs)
            rows.append((label, median_of(mine), median_of(theirs), ratio))
            if kind == "train":
                train_ips[precision] = median_of(mine)
    precision = precisions[-1]
    memory = None
    if "memory" in sections:
        memory_shape = (args.size, args.memory_batch, max(2, args.steps // 10), 1)
        mine, theirs = alternate(f"memory train {precision} batch {args.memory_batch}",
                                 lambda: project("train", precision, *memory_shape),
                                 lambda: keras("train", precision, *memory_shape), 1)
        memory = (median_of(mine, "peak_memory_mb"), median_of(theirs, "peak_memory_mb"))
    formats = {}
    for data_format in ("channels_last", "channels_first") if "format" in sections else ():
        runs = [project("train", precision, *shape, data_format=data_format, force_format=True)
                for _ in range(args.repeats)]
        formats[data_format] = median_of(runs)
        print(f"  data format {data_format} ({precision}): {formats[data_format]:.2f} images/s", flush=True)

    calls = {}
    if "calls" in sections:
        for size in sorted({args.size, 64}):
            call_shape = (size, args.batch, args.steps * (4 if size < args.size else 1), args.warmup)
            several, single = alternate(f"steps per call ({size}x{size}, {precision}) several vs one",
                                        lambda: project("train", precision, *call_shape),
                                        lambda: project("train", precision, *call_shape, steps_per_call=1),
                                        args.repeats, names=("several per call", "one per call"))
            calls[size] = (median_of(several), median_of(single))

    print()
    print(f"{'configuration':<28} {'project img/s':>14} {'keras img/s':>12} {'ratio':>7}")
    for label, a, b, ratio in rows:
        print(f"{label:<28} {a:>14.2f} {b:>12.2f} {ratio:>7.2f}")
    if "mixed_bfloat16" in train_ips:
        print(f"{'bfloat16 / float32 (train)':<28} {'':>14} {'':>12} "
              f"{train_ips['mixed_bfloat16'] / train_ips['float32']:>7.2f}")
    if memory:
        print(f"{'peak memory MB, batch ' + str(args.memory_batch):<28} {memory[0]:>14.0f} {memory[1]:>12.0f} "
              f"{memory[0] / memory[1]:>7.2f}")
    for size, (several, single) in calls.items():
        print(f"{'steps/call: several vs one, ' + str(size) + 'px':<28} {several:>14.2f} {single:>12.2f} "
              f"{several / single:>7.2f}")
    if formats:
        print(f"{'channels_first / last':<28} {formats['channels_first']:>14.2f} {formats['channels_last']:>12.2f} "
              f"{formats['channels_first'] / formats['channels_last']:>7.2f}")


if __name__ == "__main__":
    main()
