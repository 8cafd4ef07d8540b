"""The Inspector against the bare engine it runs, and native tiling's peak memory.

    python tests/benchmarks/bench_inspector.py [--rounds 30] [--skip_memory]

The model is the reference topology (filters 32-256) at 256x256, trained 2 steps on a synthetic
DAGM-layout dataset (speed does not depend on what it learned), in a temporary model_dir, and
exported to ONNX. For the checkpoint (TensorFlow) and onnxruntime it prints:
- the time `Inspector.open` takes;
- one `inspect` of a 256x256 image against one bare engine call on the same (1, 256, 256, 1)
  batch plus the decision (threshold, then labelling into defect records), medians over
  alternating rounds; the target is inspect <= 1.1x bare + decision;
- `inspect_many` of 64 images against the engine's own images/s at batch 8; target >= 0.95x.
Then, each in a fresh process, `unet predict --geometry native` of one 6000x6000 and one
12000x12000 image with a narrow network (memory is the image's, not the network's), and its
peak resident memory beyond the process's after start-up, against 16 bytes per pixel + 1.5 GB.
It prints the CPU and its flags first; nothing here asserts a figure.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

from unet_defects.adapters.hardware import cpu_flags, cpu_model  # noqa: E402
from unet_defects.application.info import describe_cpu_flags  # noqa: E402

REFERENCE = {"encoder_filters": [32, 64, 128, 256], "decoder_filters": [128, 64, 32], "data_format": "channels_last"}
NARROW = {"encoder_filters": [4, 8, 16], "decoder_filters": [8, 4], "data_format": "channels_last"}


def params(data: Path, model_dir: Path, model: dict, size: int, steps: int) -> dict:
    return {
        "train_input": {"dataset": "DAGM2007Dataset", "dataset_path": str(data), "class_id": 1,
                        "image_shape": [size, size, 1], "train_batch_size": 4, "eval_batch_size": 8,
                        "normalize_data_method": "zero_centered"},
        "model": model,
        # a fixed seed: the same weights every run, so the decision's cost (its components) is too
        "runconfig": {"model_dir": str(model_dir), "max_steps": steps, "save_checkpoints_steps": steps,
                      "tf_random_seed": 1},
    }


def trained(work: Path, model: dict, size: int, name: str) -> Path:
    from unet_defects.adapters.datasets.synthetic_dagm import SyntheticDagmSpec, generate
    from unet_defects.container import build_container

    data = work / f"data-{size}"
    if not data.is_dir():
        generate(SyntheticDagmSpec(class_ids=(1,), train_images=8, test_images=4, image_size=size, seed=1), data)
    model_dir = work / name
    build_container(params(data, model_dir, model, size, 2)).train().execute()
    return model_dir


def median_ms(samples: list[float]) -> float:
    return 1000 * statistics.median(samples)


def speed(model_dir: Path, export: Path, rounds: int) -> None:
    from unet_defects.api import Inspector

    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (256, 256), dtype=np.uint8)
    images = [rng.integers(0, 256, (256, 256), dtype=np.uint8) for _ in range(64)]
    contenders = {}
    for label, arguments in (("tensorflow checkpoint", {"model_dir": str(model_dir)}),
                             ("onnxruntime float32", {"export": str(export), "engine": "onnxruntime"})):
        tick = time.perf_counter()
        inspector = Inspector.open(**arguments)
        print(f"{label}: Inspector.open {time.perf_counter() - tick:.2f} s ({inspector.session.source})", flush=True)
        contenders[label] = inspector
    timings = {label: {"inspect": [], "bare": [], "decision": [], "many": [], "engine8": []} for label in contenders}
    for round_ in range(rounds + 2):  # two warm-up rounds, not counted
        for label, inspector in contenders.items():
            session = inspector.session
            batch = session.model_input(image)[None]
            batch8 = np.stack([session.model_input(item) for item in images[:8]])
            times = {}
            tick = time.perf_counter()
            probabilities = session.engine.outputs(batch)[0][0]
            times["bare"] = time.perf_counter() - tick
            from unet_defects.adapters.components import ScipyComponents
            from unet_defects.application.inspection import inspected

            tick = time.perf_counter()
            inspected(probabilities, session.decisions, ScipyComponents())
            times["decision"] = time.perf_counter() - tick
            tick = time.perf_counter()
            inspector.inspect(image)
            times["inspect"] = time.perf_counter() - tick
            tick = time.perf_counter()
            for _ in range(8):
                session.engine.outputs(batch8)[0]
            times["engine8"] = (time.perf_counter() - tick) / 64  # seconds per image
            tick = time.perf_counter()
            inspector.inspect_many(images)
            times["many"] = (time.perf_counter() - tick) / 64
            if round_ >= 2:
                for key, value in times.items():
                    timings[label][key].append(value)
    print(f"\n{'engine':<24}{'bare ms':>9}{'decision ms':>13}{'inspect ms':>12}{'ratio':>7}"
          f"{'engine@8 img/s':>16}{'inspect_many img/s':>20}{'ratio':>7}")
    for label, found in timings.items():
        bare, decision, inspect = (median_ms(found[key]) for key in ("bare", "decision", "inspect"))
        engine8, many = (1 / statistics.median(found[key]) for key in ("engine8", "many"))
        print(f"{label:<24}{bare:>9.1f}{decision:>13.1f}{inspect:>12.1f}{inspect / (bare + decision):>7.2f}"
              f"{engine8:>16.1f}{many:>20.1f}{many / engine8:>7.2f}")
    print("targets: inspect <= 1.10x (bare + decision); inspect_many >= 0.95x the engine at batch 8")


MEMORY_CHILD = """
import sys, time
sys.path.insert(0, {root!r})
from unet_defects.cli import main
import tensorflow  # start-up costs stay out of the figure


def status(field):
    for line in open("/proc/self/status"):
        if line.startswith(field):
            return int(line.split()[1]) * 1024


open("/proc/self/clear_refs", "w").write("5")  # the peak (VmHWM) starts again from here
base = status("VmRSS")
tick = time.perf_counter()
code = main(["predict", "--model_dir", {model_dir!r}, "--input", {image!r}, "--output", {output!r},
             "--geometry", "native", "--tile", "512x512"])
print(code, base, status("VmHWM"), time.perf_counter() - tick)
"""


def picture(kind: str, side: int) -> np.ndarray:
    """`noise`: uniform noise (the untrained network's mask is noise too: a worst case of
    millions of components); `texture`: a mid-gray surface with mild noise, as a good part."""
    rng = np.random.default_rng(side)
    if kind == "noise":
        return rng.integers(0, 256, (side, side), dtype=np.uint8)
    return np.clip(rng.normal(128, 8, (side, side)), 0, 255).astype(np.uint8)


def memory(work: Path, sides: list[int]) -> None:
    import json

    from unet_defects.adapters.images import write_png

    model_dir = trained(work, NARROW, 64, "narrow")
    print(f"\n{'image':<22}{'peak beyond start-up':>22}{'bytes/pixel':>13}{'target':>10}{'seconds':>9}{'defects':>10}")
    for kind, side in [(kind, side) for side in sides for kind in ("texture", "noise")]:
        image = work / f"line-{side}.png"
        pixels = picture(kind, side)
        write_png(image, pixels)
        del pixels
        child = MEMORY_CHILD.format(root=str(ROOT), model_dir=str(model_dir), image=str(image),
                                    output=str(work / f"out-{side}"))
        result = subprocess.run([sys.executable, "-c", child], capture_output=True, text=True, cwd=ROOT)
        if result.returncode:
            raise SystemExit(f"predict of {side}x{side} failed:\n{result.stderr[-2000:]}")
        status, base, peak, seconds = result.stdout.split()[-4:]
        grown = int(peak) - int(base)
        target = 16 * side * side + 1.5e9
        lines = (work / f"out-{side}" / "predictions.jsonl").read_text().splitlines()
        defects = sum(len(json.loads(line)["defects"]) for line in lines)
        print(f"{kind + f' {side}x{side}':<22}{grown / 1e9:>19.2f} GB{grown / side / side:>13.1f}{target / 1e9:>7.2f} GB"
              f"{float(seconds):>9.1f}{defects:>10,}", flush=True)
        image.unlink()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--skip_memory", action="store_true")
    parser.add_argument("--skip_speed", action="store_true")
    parser.add_argument("--sides", default="6000,12000", help="image sides for the memory rows")
    args = parser.parse_args()
    print(f"CPU: {os.cpu_count()} cores, {cpu_model()}; {describe_cpu_flags(cpu_flags())}", flush=True)
    with tempfile.TemporaryDirectory(prefix="bench-inspector-") as folder:
        work = Path(folder)
        from unet_defects.container import build_container

        if not args.skip_speed:
            model_dir = trained(work, REFERENCE, 256, "reference")
            container = build_container(str(model_dir / "params.yaml"), {"model_dir": str(model_dir)})
            export = work / "onnx"
            container.export().execute(str(export), format="onnx")
            speed(model_dir, export, args.rounds)
        if not args.skip_memory:
            memory(work, [int(side) for side in args.sides.split(",")])


if __name__ == "__main__":
    main()
