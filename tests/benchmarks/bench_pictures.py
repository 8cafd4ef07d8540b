"""What an evaluation's pictures and the report page cost on the demo.

    python tests/benchmarks/bench_pictures.py [--rounds 5] [--model_dir DIR]

The demo (configs/params_demo.yaml) is trained once in a temporary folder (or DIR, a demo model
already trained, is copied). Then, in alternating rounds, each in a fresh process as a user runs
it, `unet run --mode eval` on it twice: as it ships, and as it ran before the pictures (no pixel
histograms, no worst images kept, nothing drawn); the difference of the medians is what the
pictures add to the command (on shared cores the rounds vary by more than that). Then, in a
fresh process each round, the evaluation's use case as the CLI wires it, the picture writer
timed inside it: the drawing's share of the evaluation's own time, the steadier figure. In
one process it then times the pictures alone (drawn again from the evaluation's pictures.npz,
matplotlib's import included: the first drawing in a process pays it) and the report page
(`report.html`, the pictures and the learning curves embedded). Target: the pictures and the
page add at most 10 % to the evaluation's time. It prints the CPU and its flags first; nothing
here asserts a figure.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from unet_defects.adapters.hardware import cpu_flags, cpu_model  # noqa: E402
from unet_defects.application.info import describe_cpu_flags  # noqa: E402
from unet_defects.predicting import ModelSpec  # noqa: E402

DEMO = ROOT / "configs" / "params_demo.yaml"
# `unet run --mode eval` as it was before the pictures: no pixel histograms (in the graph or in
# numpy), no worst images kept, no picture inputs, no drawing; the same command otherwise.
WITHOUT_PICTURES = """
import sys
import numpy as np
import tensorflow as tf
from unet_defects.adapters.tensorflow import evaluator
from unet_defects.application import evaluation, map_scoring, worst_images
from unet_defects.adapters import picture_files
evaluator._histograms = lambda logits, truth, keep: tf.zeros([tf.shape(logits)[0], tf.shape(logits)[3], 2, 1], tf.int64)
map_scoring.pixel_histogram = lambda probabilities, truth, counted: np.zeros((2, 1), np.int64)
worst_images.WorstImages.offer = lambda self, *args, **kwargs: None
evaluation.picture_inputs = lambda *args, **kwargs: None
picture_files.FilePictureWriter.write = lambda self, pictures: []
from unet_defects.cli import main
sys.exit(main(sys.argv[1:]))
"""
# One `unet run --mode eval` in this process's way (the container of the CLI), the picture
# writer's calls timed inside it: (evaluation seconds, of which drawing seconds).
SPLIT = """
import sys, time
from unet_defects.adapters import picture_files
drawing = []
write = picture_files.FilePictureWriter.write
def timed(self, pictures):
    started = time.perf_counter()
    try:
        return write(self, pictures)
    finally:
        drawing.append(time.perf_counter() - started)
picture_files.FilePictureWriter.write = timed
from unet_defects.configs.loader import load_experiment
from unet_defects.container import build_container
experiment = load_experiment(sys.argv[1], overrides=[f"runconfig.model_dir={sys.argv[2]}"])
container = build_container(experiment)
started = time.perf_counter()
container.evaluate_splits().execute()
print(time.perf_counter() - started, sum(drawing))
"""
ALONE = """
import time, sys
started = time.perf_counter()
from unet_defects.adapters.picture_files import FilePictureWriter
drawn = FilePictureWriter(sys.argv[1]).redraw()
print(len(drawn), time.perf_counter() - started)
"""


def timed(command: list[str], cwd: Path) -> float:
    started = time.perf_counter()
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"{' '.join(command)} failed:\n{done.stderr[-2000:]}")
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--model_dir", help="a demo model already trained (copied, never changed)")
    args = parser.parse_args()
    print(f"CPU: {os.cpu_count()} cores, {cpu_model()}; {describe_cpu_flags(cpu_flags())}", flush=True)
    unet = str(Path(sys.executable).with_name("unet"))
    with tempfile.TemporaryDirectory(prefix="bench-pictures-") as folder:
        work = Path(folder)
        model = work / "model_dir_unet_demo"
        if args.model_dir:
            shutil.copytree(args.model_dir, model)
        else:
            print(f"training the demo: {timed([unet, 'run', '--params', str(DEMO), '--model_dir', str(model)], work):.1f} s",
                  flush=True)
        evaluate = ["run", "--params", str(DEMO), "--model_dir", str(model), "--mode", "eval"]
        with_pictures, without = [], []
        for round_ in range(args.rounds):
            with_pictures.append(timed([unet, *evaluate], work))
            without.append(timed([sys.executable, "-c", WITHOUT_PICTURES, *evaluate], work))
            print(f"round {round_ + 1}: unet run --mode eval {with_pictures[-1]:.2f} s, without pictures "
                  f"{without[-1]:.2f} s", flush=True)
        inside = []
        for _ in range(args.rounds):
            done = subprocess.run([sys.executable, "-c", SPLIT, str(DEMO), str(model)], capture_output=True, text=True,
                                  cwd=work)
            evaluation, drawing = (float(value) for value in done.stdout.split()[-2:])
            inside.append((evaluation, drawing))
            print(f"in one process: the evaluation {evaluation:.2f} s, of which the pictures {drawing:.2f} s", flush=True)
        drawn = subprocess.run([sys.executable, "-c", ALONE, str(model)], capture_output=True, text=True, cwd=work)
        count, alone = drawn.stdout.split()
        timed([unet, "report", "--model_dir", str(model)], work)  # report.png, which the page embeds
        page_use_case = ModelSpec(str(model), None, ()).container().report_page()
        page = []
        for _ in range(args.rounds):
            started = time.perf_counter()
            page_use_case.execute(str(model / "report.png"))
            page.append(time.perf_counter() - started)
        base, full = statistics.median(without), statistics.median(with_pictures)
        added = full - base
        print(f"\nunet run --mode eval on the demo: median {full:.2f} s with the pictures, {base:.2f} s without; "
              f"the pictures add {added:.2f} s = {100 * added / base:.1f} % (target <= 10 %)")
        share = statistics.median(drawing / (evaluation - drawing) for evaluation, drawing in inside)
        print(f"in one process (session opened, images scored, pictures drawn): the pictures add a median "
              f"{100 * share:.1f} % to the evaluation's own time (target <= 10 %)")
        print(f"the {count} pictures alone, drawn again in a fresh process (matplotlib's import included): "
              f"{float(alone):.2f} s")
        print(f"report.html alone: median {1000 * statistics.median(page):.1f} ms "
              f"= {100 * statistics.median(page) / base:.2f} % of the evaluation")


if __name__ == "__main__":
    main()
