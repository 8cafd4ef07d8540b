"""Peak memory of `predict --geometry native` on huge images, without TensorFlow.

For each image size and channel count, a fresh subprocess runs the native path on one
synthetic (H, W) uint8 image: tiles cut one at a time from the unpadded image (TilePlan.tile),
normalized (x / 255 - 0.5) and repeated to C channels, in batches of 8 through a fake engine
(the sigmoid of 8 x each pixel's mean channel), blended as they come back (TileBlender),
thresholded at 0.5 and written by FileArtifactStore.write_prediction (mask and overlay PNG)
into a temporary folder. It reports the peak resident memory (ru_maxrss) above the process's
own after its imports, in bytes per image pixel, against the target of 16 bytes a pixel plus
1.5 GB. The image itself (1 byte a pixel) counts.

    python tests/benchmarks/bench_tiling_memory.py [--sizes 6000 12000] [--channels 1 3] [--probabilities]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

TILE, OVERLAP, STRIDE, BATCH = 512, 32, 16, 8
TARGET_BYTES_PER_PIXEL, TARGET_FIXED = 16, 1.5e9
FLAGS = ("avx2", "avx512f", "avx512_bf16", "amx_tile")


def peak_bytes() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KB on Linux


def synthetic_image(side: int):
    """A line-scan-like texture: smooth stripes and a little noise, made a strip of rows at a time."""
    import numpy as np

    from unet_defects.domain.tiling import row_strips

    image = np.empty((side, side), np.uint8)
    rng = np.random.default_rng(side)
    columns = (127 + 100 * np.sin(np.arange(side, dtype=np.float32) / 97)).astype(np.float32)
    for rows in row_strips(side, side):
        shade = 20 * np.sin(np.arange(rows.start, rows.stop, dtype=np.float32) / 131)[:, None]
        noise = rng.integers(0, 8, (rows.stop - rows.start, side), dtype=np.uint8)
        image[rows] = np.clip(columns + shade, 0, 247).astype(np.uint8) + noise
    return image


def child(side: int, channels: int, probabilities: bool) -> dict:
    import imageio.v3  # noqa: F401  (write_png imports it; loaded before the baseline)
    import numpy as np

    from unet_defects.adapters.artifacts import FileArtifactStore
    from unet_defects.domain.data import normalize
    from unet_defects.domain.tiling import PredictGeometry, TilePlan

    store = FileArtifactStore(tempfile.mkdtemp())
    with tempfile.TemporaryDirectory() as warm:  # the PNG plugin's lazy imports, before the baseline
        store.write_prediction(warm, "warm.png", np.zeros((8, 8), np.uint8), np.zeros((8, 8), np.float32),
                               np.zeros((8, 8), bool), probabilities)
    baseline = peak_bytes()
    started = time.perf_counter()
    image = synthetic_image(side)
    plan = TilePlan.for_image(side, side, PredictGeometry(mode="native", tile=(TILE, TILE), overlap=OVERLAP,
                                                          stride=STRIDE))
    blender = plan.blender()

    def engine(tiles: np.ndarray) -> np.ndarray:
        return 1.0 / (1.0 + np.exp(-8.0 * tiles.mean(axis=-1)))

    for first in range(0, len(plan.origins), BATCH):
        indices = range(first, min(first + BATCH, len(plan.origins)))
        batch = np.stack([np.repeat(normalize(plan.tile(image, index)[..., None], (1 / 255, -0.5)), channels, -1)
                          for index in indices])
        for index, prediction in zip(indices, engine(batch)):
            blender.add(index, prediction)
    probability = blender.result()
    decision = probability > 0.5
    blended = time.perf_counter()
    blend_peak = peak_bytes() - baseline
    with tempfile.TemporaryDirectory() as output:
        store.write_prediction(output, "huge.png", image, probability, decision, probabilities)
    written = time.perf_counter()
    assert "tensorflow" not in sys.modules
    return {"side": side, "channels": channels, "tiles": len(plan.origins), "baseline": baseline,
            "blend_peak": blend_peak, "peak": peak_bytes() - baseline,
            "blend_seconds": blended - started, "write_seconds": written - blended}


def cpu_flags_line() -> str:
    from unet_defects.adapters.hardware import cpu_flags

    flags = cpu_flags()
    return "CPU flags: " + ", ".join(f"{flag} {'yes' if flag in flags else 'no'}" for flag in FLAGS)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[6000, 12000])
    parser.add_argument("--channels", type=int, nargs="+", default=[1, 3])
    parser.add_argument("--probabilities", action="store_true", help="also write the 16-bit probability PNG")
    parser.add_argument("--child", type=int, nargs=2, metavar=("SIDE", "CHANNELS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(*args.child, args.probabilities)))
        return
    print(cpu_flags_line())
    print(f"tile {TILE}x{TILE}, overlap {OVERLAP}, stride {STRIDE}, batch {BATCH}; "
          f"target {TARGET_BYTES_PER_PIXEL} B/px + {TARGET_FIXED / 1e9:.1f} GB")
    print(f"{'image':>13} {'C':>2} {'tiles':>5} {'blend B/px':>10} {'peak B/px':>9} {'peak GB':>8} "
          f"{'target GB':>9} {'blend s':>7} {'write s':>7}  verdict")
    for side in args.sizes:
        for channels in args.channels:
            command = [sys.executable, __file__, "--child", str(side), str(channels)]
            command += ["--probabilities"] if args.probabilities else []
            run = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=True)
            result = json.loads(run.stdout.strip().splitlines()[-1])
            pixels = side * side
            target = TARGET_BYTES_PER_PIXEL * pixels + TARGET_FIXED
            print(f"{side:>6}x{side:<6} {channels:>2} {result['tiles']:>5} {result['blend_peak'] / pixels:>10.2f} "
                  f"{result['peak'] / pixels:>9.2f} {result['peak'] / 1e9:>8.2f} {target / 1e9:>9.2f} "
                  f"{result['blend_seconds']:>7.1f} {result['write_seconds']:>7.1f}  "
                  f"{'within' if result['peak'] <= target else 'OVER'} (baseline {result['baseline'] / 1e6:.0f} MB)")


if __name__ == "__main__":
    main()
