"""What the drift window costs `inspect_many`, and the PSI a window shows when nothing drifted.

    python tests/benchmarks/bench_drift.py [--rounds 15] [--narrow_rounds 200]

Speed: a model trained 2 steps on a synthetic DAGM-layout dataset (speed does not depend on
what it learned) in a temporary model_dir, given a reference of 500 values per statistic (so
every statistic is judged over deciles), and an alarm callback (so the bounds are checked every
20 images, as `unet serve` does); `inspect_many` of 64 images with the drift window
(the default 500 images) and without it (`drift_window=0`), one after the other in each round
(which goes first alternates), the ratio the median of the rounds' pairs; the target is at most
2 % slower. Two models: the reference topology (filters 32-256)
at 256x256, a line's case, and a narrow one (4-16) at 64x64, where the model's time is smallest
and the window's share largest. Beside the ratio, the window's own time per image
(DriftMonitor.observe on the same images), which is steadier than a difference of two speeds.

Noise: the PSI of a window drawn from the reference's own distribution (a reference of 500
values, 2000 trials), for a continuous statistic (mean gray, the part score) and the flagged
share at several base rates, by window size: what the bound and the minimum window must clear
(docs/serve.md, Drift). Then, for references of 20, 50, 100, 250 and 500 values and windows of 200,
how often a calm window passes 0.25 over fixed deciles and under the judging rule (the bins
chosen by chi-square's calm PSI, or not judged). `--noise_only` runs these alone (seconds).
It prints the CPU and its flags first; nothing here asserts a figure.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

from tests.benchmarks.bench_inspector import NARROW, REFERENCE, trained  # noqa: E402
from unet_defects.adapters.hardware import cpu_flags, cpu_model  # noqa: E402
from unet_defects.application.info import describe_cpu_flags  # noqa: E402
from unet_defects.domain.drift import Distribution, gray_statistics  # noqa: E402
from unet_defects.domain.drift_reference import DriftReference, InputReference, ScoreReference  # noqa: E402


def judged_reference(size: int) -> DriftReference:
    """500 values of each statistic, like the benchmark's images, so every one is judged over deciles."""
    rng = np.random.default_rng(1)
    rows = [(*gray_statistics(rng.integers(0, 256, (size, size), dtype=np.uint8)), size * size + i % 7)
            for i in range(500)]
    scores = rng.beta(0.3, 3, 500)
    return DriftReference(InputReference.of(rows, "500 like the benchmark's"),
                          ScoreReference.of(list(scores), list(scores > 0.5), "500 beta(0.3, 3)"))


def speed(model_dir: Path, size: int, rounds: int) -> None:
    from unet_defects.adapters.drift_files import FileDriftReferences
    from unet_defects.api import Inspector
    from unet_defects.application.drift_monitor import DriftMonitor

    rng = np.random.default_rng(0)
    images = [rng.integers(0, 256, (size, size), dtype=np.uint8) for _ in range(64)]
    FileDriftReferences(str(model_dir)).save(judged_reference(size))
    heard: list[str] = []
    with_window = Inspector.open(model_dir=str(model_dir), batch_size=8, on_drift=heard.append)
    without = Inspector.open(model_dir=str(model_dir), batch_size=8, drift_window=0)
    rates: dict[str, list[float]] = {"with": [], "without": []}
    ratios = []
    for inspector in (with_window, without):
        inspector.inspect_many(images)  # warm-up: the graph is traced once
    for index in range(rounds):
        pair = (("with", with_window), ("without", without))
        for label, inspector in pair if index % 2 else pair[::-1]:  # each goes first every other round
            tick = time.perf_counter()
            inspector.inspect_many(images)
            rates[label].append(len(images) / (time.perf_counter() - tick))
        ratios.append(rates["with"][-1] / rates["without"][-1])  # a pair close in time: the machine's load cancels
    found = without.inspect_many(images)
    monitor = DriftMonitor(FileDriftReferences(str(model_dir)).load(), alarm=heard.append)
    observe = []
    for _ in range(rounds):
        tick = time.perf_counter()
        monitor.observe(images, found)
        observe.append((time.perf_counter() - tick) / len(images))
    on, off = statistics.median(rates["with"]), statistics.median(rates["without"])
    window_us = 1e6 * statistics.median(observe)
    ratio = statistics.median(ratios)
    low, high = np.percentile(ratios, [25, 75])
    print(f"{size}x{size} {'reference' if size == 256 else 'narrow'}, {rounds} rounds: without the window "
          f"{off:8.1f} images/s, with it {on:8.1f} images/s; ratio (median of the rounds' pairs) {ratio:.3f} "
          f"({100 * (1 - ratio):+.1f} % slower; quartiles {low:.3f}-{high:.3f}); the window's own time "
          f"{window_us:.1f} us/image = {100 * window_us * off / 1e6:.2f} % of an image's (the bounds checked "
          f"every 20 images; judged over {judged_bins(with_window.drift())}; {len(heard)} alarm lines)", flush=True)


def judged_bins(figures) -> str:
    return ", ".join(f"{s.name} {s.bins or 'none'}" for s in figures.statistics)


def noise(trials: int = 2000) -> None:
    rng = np.random.default_rng(0)
    draws = {
        "continuous (normal)": lambda n: rng.normal(128, 20, n),
        "part score (beta 0.3, 3)": lambda n: rng.beta(0.3, 3, n),
        **{f"flagged share {p:.0%}": (lambda p: lambda n: (rng.random(n) < p).astype(float))(p)
           for p in (0.02, 0.05, 0.2, 0.5)},
    }
    print(f"\nPSI of a window drawn from the reference itself (reference of 500, {trials} trials): "
          "mean / 99th / 99.9th percentile / max")
    for label, draw in draws.items():
        cells = []
        for window in (100, 200, 500):
            found = np.array([Distribution.of(draw(500)).psi(draw(window)) for _ in range(trials)])
            cells.append(f"{window}: {found.mean():.3f}/{np.percentile(found, 99):.3f}/"
                         f"{np.percentile(found, 99.9):.3f}/{found.max():.3f}")
        print(f"  {label:<26}" + "   ".join(cells), flush=True)


def small_references(trials: int = 2000, window: int = 200, bound: float = 0.25) -> None:
    """How often a calm window of `window` passes `bound`, by the reference's size: fixed deciles
    against the judging rule (the finest bins whose calm 99.9th percentile stays under it)."""
    rng = np.random.default_rng(1)
    draws = {"continuous (normal)": lambda n: rng.normal(128, 20, n),
             "part score (beta 0.3, 3)": lambda n: rng.beta(0.3, 3, n),
             "flagged share 5 %": lambda n: (rng.random(n) < 0.05).astype(float)}
    print(f"\nA calm window of {window} past {bound} by the reference's size ({trials} trials): over deciles, "
          "and under the rule (its bins; - : not judged)")
    for label, draw in draws.items():
        cells = []
        for size in (20, 50, 100, 250, 500):
            deciles, ruled, bins = 0, 0, set()
            for _ in range(trials):
                values = draw(size)
                reference = (Distribution.of_flags if label.startswith("flagged") else Distribution.of)(values)
                sample = draw(window)
                deciles += reference.psi(sample) > bound
                judging = reference.judging_bins(window, bound)
                bins.add(0 if judging is None else len(judging.shares))
                ruled += judging is not None and judging.psi(sample) > bound
            shown = "/".join(str(b) if b else "-" for b in sorted(bins))
            cells.append(f"{size}: {100 * deciles / trials:5.1f} % -> {100 * ruled / trials:4.1f} % ({shown} bins)")
        print(f"  {label:<26}" + "   ".join(cells), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15, help="rounds of the reference model (about 6 s each)")
    parser.add_argument("--narrow_rounds", type=int, default=200, help="rounds of the narrow one (about 0.1 s each)")
    parser.add_argument("--noise_only", action="store_true", help="only the PSI of calm windows (numpy, seconds)")
    args = parser.parse_args()
    print(f"CPU: {os.cpu_count()} cores, {cpu_model()}; {describe_cpu_flags(cpu_flags())}", flush=True)
    if not args.noise_only:
        with tempfile.TemporaryDirectory(prefix="bench-drift-") as folder:
            work = Path(folder)
            speed(trained(work, REFERENCE, 256, "reference"), 256, args.rounds)
            speed(trained(work, NARROW, 64, "narrow"), 64, args.narrow_rounds)
    noise()
    small_references()


if __name__ == "__main__":
    main()
