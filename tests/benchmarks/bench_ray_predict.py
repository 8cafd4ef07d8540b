"""`unet predict --ray` (Ray Data) against `unet predict` in one process, on the same images.

    python tests/benchmarks/bench_ray_predict.py [--images 2000] [--size 256] [--workers 1,2]

The model is the reference topology (filters 32-256) at SIZE x SIZE, trained 2 steps on a
synthetic DAGM-layout dataset (speed does not depend on what it learned), run by the
TensorFlow engine in both. The images are synthetic gray parts written as PNG. For each way it
prints the start-up (until the first batch of lines came back: the model opened, and for Ray
the local cluster and every worker started), then the steady images/s after it, and the whole
run's images/s; the target is Ray's steady rate >= 0.85x one process's. Ray's lines and masks
are checked to equal one process's. It prints the CPU and its flags first; nothing here
asserts a figure.
"""

from __future__ import annotations

import argparse
import filecmp
import functools
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

from tests.benchmarks.bench_inspector import REFERENCE, trained  # noqa: E402
from unet_defects.adapters.hardware import cpu_flags, cpu_model  # noqa: E402
from unet_defects.application.info import describe_cpu_flags  # noqa: E402


def parts(folder: Path, count: int, size: int) -> Path:
    import imageio.v3 as iio

    rng = np.random.default_rng(0)
    folder.mkdir(parents=True, exist_ok=True)
    for index in range(count):
        image = rng.integers(70, 110, (size, size), dtype=np.uint8)
        image[rng.integers(0, size), rng.integers(0, size // 2):] = 240
        iio.imwrite(folder / f"part{index:05d}.png", image, extension=".png")
    return folder


class Clock:
    """(files done, seconds since the start) at every progress call."""

    def __init__(self) -> None:
        self.start = time.perf_counter()
        self.marks: list[tuple[int, float]] = []

    def __call__(self, done: int, total: int) -> None:
        self.marks.append((done, time.perf_counter() - self.start))

    def figures(self) -> tuple[float, float, float]:
        """(start-up seconds, steady images/s after the first batch, whole images/s)."""
        (first_done, first_time), (done, end) = self.marks[0], self.marks[-1]
        return first_time, (done - first_done) / max(end - first_time, 1e-9), done / end


def one_process(model_dir: Path, inputs: Path, output: Path) -> Clock:
    from unet_defects.predicting import ModelSpec

    clock = Clock()
    ModelSpec(str(model_dir), None).container().predict().execute([str(inputs)], str(output), progress=clock)
    return clock


def on_ray(model_dir: Path, inputs: Path, output: Path, workers: int) -> Clock:
    from unet_defects.adapters.ray_data import RayDataRunner
    from unet_defects.predicting import ModelSpec, WorkerSpec, open_worker

    spec = ModelSpec(str(model_dir), None)
    clock = Clock()
    worker = functools.partial(open_worker, WorkerSpec(spec, str(output)))
    spec.container().archive(runner=RayDataRunner(workers=workers)).execute([str(inputs)], str(output), worker,
                                                                             progress=clock)
    return clock


def same_outputs(first: Path, second: Path) -> bool:
    names = sorted(path.name for path in first.glob("*.png"))
    equal, _, _ = filecmp.cmpfiles(first, second, [*names, "predictions.jsonl"], shallow=False)
    return len(equal) == len(names) + 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=2000)
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--workers", default="1,2", help="comma-separated Ray worker counts to time")
    args = parser.parse_args()
    print(f"CPU: {cpu_model()} ({len(os.sched_getaffinity(0))} cores); flags: {describe_cpu_flags(cpu_flags())}")
    with tempfile.TemporaryDirectory() as temporary:
        work = Path(temporary)
        model_dir = trained(work, REFERENCE, args.size, "reference")
        inputs = parts(work / "parts", args.images, args.size)
        baseline = one_process(model_dir, inputs, work / "one").figures()
        print(f"one process: start-up {baseline[0]:.1f} s, then {baseline[1]:.1f} images/s; "
              f"whole run {baseline[2]:.1f} images/s ({args.images} images of {args.size}x{args.size})")
        for workers in (int(count) for count in args.workers.split(",")):
            output = work / f"ray-{workers}"
            startup, steady, whole = on_ray(model_dir, inputs, output, workers).figures()
            print(f"Ray Data, {workers} worker(s): start-up {startup:.1f} s (Ray and the workers' models), then "
                  f"{steady:.1f} images/s = {steady / baseline[1]:.2f}x one process (target >= 0.85x); whole run "
                  f"{whole:.1f} images/s = {whole / baseline[2]:.2f}x; outputs equal one process's: "
                  f"{same_outputs(work / 'one', output)}")


if __name__ == "__main__":
    main()
