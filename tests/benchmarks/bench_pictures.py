"""What an evaluation's pictures and the report page cost on the demo.

    python tests/benchmarks/bench_pictures.py [--rounds 5] [--model_dir DIR]

The demo (configs/params_demo.yaml) is trained once in a temporary folder (or DIR, a demo model
already trained, is copied). Then, in alternating rounds, each in a fresh process as a user runs
it, `unet run --mode eval` on it twice: as it ships, and with the picture writer replaced by one
that draws nothing; the difference of the medians is what the pictures add to the command. In
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
# `unet run --mode eval` with a picture writer that draws nothing: the same command otherwise.
WITHOUT_PICTURES = """
import sys
from unet_defects.adapters import picture_files
picture_files.FilePictureWriter.write = lambda self, pictures: []
from unet_defects.cli import main
sys.exit(main(sys.argv[1:]))
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
        print(f"the {count} pictures alone, drawn again in a fresh process (matplotlib's import included): "
              f"{float(alone):.2f} s")
        print(f"report.html alone: median {1000 * statistics.median(page):.1f} ms "
              f"= {100 * statistics.median(page) / base:.2f} % of the evaluation")


if __name__ == "__main__":
    main()
