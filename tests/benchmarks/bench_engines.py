"""Inference engines against Keras `model.predict`: speed, and what they change in the masks.

    python tests/benchmarks/bench_engines.py                    # trains, exports, measures (~15 min)
    python tests/benchmarks/bench_engines.py --model_dir D      # trains into D once, then reuses it

The model is the reference topology (filters 32-256, no normalization) at 256x256. Without
--model_dir it is trained first on CrackForest (../shared/realdata), squashed to 256x256, for
--steps steps (bce + Dice, Adam at a constant 1e-3), so that its masks mean something. It is
exported in every format (float32, and
INT8 calibrated on training images), then:
- agreement: each float32 engine's masks against TensorFlow's on the evaluation images (share of
  equal pixels), and defect Dice of every engine on the evaluation split;
- speed: images/s at batch 8 and latency at batch 1 of every engine, each round running every
  contender once, Keras `model.predict` first, for --rounds rounds (figures: medians).
It prints the CPU and its flags, then a table with ratios to Keras; nothing here asserts a figure.
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

from unet_defects.adapters.hardware import cpu_flags, cpu_model  # noqa: E402
from unet_defects.application.info import describe_cpu_flags  # noqa: E402
from unet_defects.configs.loader import preset_path  # noqa: E402

DATA = ROOT.parent / "shared" / "realdata" / "crackforest"
REFERENCE_AT_256 = {
    "train_input.image_shape": "[256, 256, 1]", "train_input.image_fit": "resize", "train_input.train_batch_size": "8",
    "train_input.eval_batch_size": "8", "model.normalization": "none",
    "model.encoder_filters": "[32, 64, 128, 256]", "model.decoder_filters": "[128, 64, 32]",
    "runconfig.keep_best": "null", "model.eval_thresholds": "[]", "optimizer.learning_rate": "1.0e-3",
}
# (label, export folder, engine, engine option)
CONTENDERS = [
    ("tensorflow tf.function", None, "tensorflow", None),
    ("onnxruntime float32", "onnx", "onnxruntime", None),
    ("openvino float32 LATENCY", "openvino", "openvino", "LATENCY"),
    ("openvino float32 THROUGHPUT", "openvino", "openvino", "THROUGHPUT"),
    ("tflite float32", "tflite", "tflite", None),
    ("openvino int8 LATENCY", "openvino-int8", "openvino", "LATENCY"),
    ("onnxruntime int8", "onnx-int8", "onnxruntime", None),
    ("tflite int8", "tflite-int8", "tflite", None),
]


def train(model_dir: Path, steps: int, data: Path) -> None:
    command = [sys.executable, "-m", "unet_defects.cli", "run", "--params", str(preset_path("params_folder.yaml")),
               "--mode", "train", "--model_dir", str(model_dir), "--set", f"train_input.dataset_path={data}",
               "--set", f"runconfig.max_steps={steps}", "--set", f"runconfig.save_checkpoints_steps={steps}"]
    for key, value in REFERENCE_AT_256.items():
        command += ["--set", f"{key}={value}"]
    tick = time.perf_counter()
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    if result.returncode:
        raise SystemExit(f"training failed:\n{result.stderr[-3000:]}")
    print(f"trained the reference topology at 256x256 for {steps} steps of 8 images in "
          f"{time.perf_counter() - tick:.0f} s", flush=True)


def export_all(container, work: Path) -> dict[str, Path]:
    made = {}
    for fmt, int8 in [("savedmodel", False), ("onnx", False), ("openvino", False), ("tflite", False),
                      ("openvino", True), ("onnx", True), ("tflite", True)]:
        name = f"{fmt}{'-int8' if int8 else ''}"
        tick = time.perf_counter()
        container.export().execute(str(work / name), format=fmt, int8=int8)
        print(f"exported {name} in {time.perf_counter() - tick:.0f} s", flush=True)
        made[name] = work / name
    return made


def load(label: str, folder: str | None, engine: str, option: str | None, exports: dict[str, Path], model):
    from unet_defects.adapters.runtimes.registry import EngineRegistry

    registry = EngineRegistry(openvino_hint=option)
    return registry.from_model(model) if folder is None else registry.from_export(engine, str(exports[folder]))[0]


def seconds_per_call(call, batch, calls: int) -> float:
    call(batch)  # warm-up (first-call compilation and allocation)
    times = []
    for _ in range(calls):
        tick = time.perf_counter()
        call(batch)
        times.append(time.perf_counter() - tick)
    return statistics.median(times)


def agreement(container, engines: dict, reference: str) -> dict[str, tuple[float, float]]:
    """label -> (share of mask pixels equal to the reference's, defect Dice on the evaluation split)."""
    import numpy as np

    masks: dict[str, list] = {label: [] for label in engines}
    truths: list = []
    for label, engine in engines.items():
        for found in container.evaluator().maps(engine, container.dataset().evaluation_stream()):
            masks[label].append((found.probabilities > 0.5) & found.counted)
            if label == reference:
                truths.append(found.truth & found.counted)
    result = {}
    for label, predicted in masks.items():
        equal = sum(int(np.sum(a == b)) for a, b in zip(predicted, masks[reference]))
        total = sum(a.size for a in predicted)
        tp = sum(int(np.sum(p & t)) for p, t in zip(predicted, truths))
        fp_fn = sum(int(np.sum(p ^ t)) for p, t in zip(predicted, truths))
        result[label] = (equal / total, 2 * tp / (2 * tp + fp_fn) if tp + fp_fn else 1.0)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model_dir", type=Path,
                        help="a model_dir trained with the settings above (trained into it when empty)")
    parser.add_argument("--steps", type=int, default=120, help="training steps when no --model_dir is given")
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--calls", type=int, default=3, help="timed calls per contender and round")
    args = parser.parse_args()
    import numpy as np

    from unet_defects.container import build_container

    flags = cpu_flags()
    print(f"CPU: {cpu_model()}, {os.cpu_count()} cores; {describe_cpu_flags(flags)}", flush=True)
    with tempfile.TemporaryDirectory(prefix="unet-engines-") as scratch:
        work = Path(scratch)
        model_dir = args.model_dir or work / "model"
        if not (model_dir / "params.yaml").is_file():
            if not args.data.is_dir():
                raise SystemExit(f"{args.data}: not found (the real data lives in ../shared/realdata)")
            train(model_dir, args.steps, args.data)
        container = build_container(str(model_dir / "params.yaml"), {"model_dir": str(model_dir)})
        model = container.builder().build(container.experiment().model)
        container.checkpoints().restore(model)
        exports = export_all(container, work)
        engines = {label: load(label, folder, engine, option, exports, model)
                   for label, folder, engine, option in CONTENDERS}
        agreed = agreement(container, engines, reference="tensorflow tf.function")
        rng = np.random.default_rng(0)
        batch = rng.standard_normal((8, 256, 256, 1)).astype(np.float32)
        contenders = {"keras model.predict": lambda b: model.predict(b, batch_size=len(b), verbose=0)}
        contenders.update({label: engine.probabilities for label, engine in engines.items()})
        per_batch: dict[str, list[float]] = {label: [] for label in contenders}
        single: dict[str, list[float]] = {label: [] for label in contenders}
        for round_ in range(args.rounds):
            for label, call in contenders.items():
                per_batch[label].append(8 / seconds_per_call(call, batch, args.calls))
                single[label].append(1000 * seconds_per_call(call, batch[:1], 2 * args.calls))
            print(f"round {round_ + 1}: " + ", ".join(f"{label} {per_batch[label][-1]:.2f}/s" for label in contenders),
                  flush=True)
    base_throughput = statistics.median(per_batch["keras model.predict"])
    base_latency = statistics.median(single["keras model.predict"])
    print()
    print(f"{'engine':<28} {'images/s b8':>12} {'x Keras':>8} {'ms b1':>8} {'x Keras':>8} "
          f"{'equal px':>9} {'defect Dice':>12}")
    for label in contenders:
        throughput, latency = statistics.median(per_batch[label]), statistics.median(single[label])
        equal, dice = (f"{100 * agreed[label][0]:.3f}%", f"{agreed[label][1]:.4f}") if label in agreed else ("-", "-")
        print(f"{label:<28} {throughput:>12.2f} {throughput / base_throughput:>8.2f} {latency:>8.1f} "
              f"{base_latency / latency:>8.2f} {equal:>9} {dice:>12}")


if __name__ == "__main__":
    main()
