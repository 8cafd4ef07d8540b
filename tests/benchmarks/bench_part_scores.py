"""Which number ranks parts best: the classifier head's probability, the mask's peak pixel, or a
combination of the two, on a trained model_dir with a head (a planned run's, for example).

    python tests/benchmarks/bench_part_scores.py MODEL_DIR TEST_FOLDER [--tta flip]

Each image of TEST_FOLDER (images/ and masks/, or one folder of images with masks/ beside it;
a part is defective when its mask has a defect pixel) is inspected as `unet predict` and the
Inspector do (the model_dir's geometry, tiles, test-time augmentation), and the image AUROC of
each candidate score is printed: the head, the peak pixel, their mean, their maximum, their
product, the mean of their ranks, and the mean of the 0.1 % largest pixels. Prints the CPU flags;
asserts nothing.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from unet_defects.adapters.hardware import cpu_flags, cpu_model  # noqa: E402
from unet_defects.application.info import describe_cpu_flags  # noqa: E402
from unet_defects.domain.metrics import image_auroc  # noqa: E402

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff"}


def labelled_images(folder: Path) -> list[tuple[Path, bool]]:
    """(image path, defective) for each image with a mask of the same stem under masks/."""
    images = folder / "images" if (folder / "images").is_dir() else folder
    masks = {path.stem: path for path in (folder / "masks").iterdir()} if (folder / "masks").is_dir() else {}
    import imageio.v3 as iio

    found = []
    for path in sorted(images.iterdir()):
        if path.suffix.lower() not in IMAGE_SUFFIXES:
            continue
        mask = masks.get(path.stem)
        found.append((path, mask is not None and bool((iio.imread(mask) > 127).any())))
    if not found:
        raise SystemExit(f"{images}: no images")
    return found


def ranks(values: np.ndarray) -> np.ndarray:
    return np.argsort(np.argsort(values, kind="stable"), kind="stable") / max(len(values) - 1, 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("model_dir", type=Path)
    parser.add_argument("test_folder", type=Path)
    parser.add_argument("--tta", default=None, help="test-time augmentation (default: the model's own)")
    args = parser.parse_args()
    import imageio.v3 as iio

    from unet_defects.api import Inspector

    print(f"CPU: {cpu_model()}; {describe_cpu_flags(cpu_flags())}")
    inspector = Inspector.open(model_dir=str(args.model_dir), tta=args.tta)
    items = labelled_images(args.test_folder)
    head, peak, top = [], [], []
    for index, (path, _) in enumerate(items):
        image = iio.imread(path)
        found = inspector.inspect(image if image.ndim == 2 else image[..., :3].mean(axis=-1).astype(image.dtype))
        if found.image_probabilities is None:
            raise SystemExit(f"{args.model_dir}: the model has no classifier head (model.classifier_head)")
        head.append(float(found.image_probabilities.max()))
        pixels = np.sort(found.probabilities.ravel())
        peak.append(float(pixels[-1]))
        top.append(float(pixels[-max(1, pixels.size // 1000):].mean()))
        if (index + 1) % 50 == 0:
            print(f"  {index + 1} of {len(items)} images", flush=True)
    defective = [label for _, label in items]
    if all(defective) or not any(defective):
        raise SystemExit(f"{args.test_folder}: every image is {'defective' if all(defective) else 'good'}: "
                         "a ranking needs both kinds")
    head, peak, top = np.array(head), np.array(peak), np.array(top)
    candidates = {
        "head (the part score)": head,
        "peak pixel": peak,
        "mean of the 0.1 % largest pixels": top,
        "mean of head and peak": (head + peak) / 2,
        "maximum of head and peak": np.maximum(head, peak),
        "product of head and peak": head * peak,
        "mean of their ranks": (ranks(head) + ranks(peak)) / 2,
    }
    session = inspector.session
    print(f"{len(items)} images, {sum(defective)} defective; {session.source}, tta {session.tta}")
    for name, scores in candidates.items():
        print(f"  image AUROC {image_auroc(scores, defective):.3f}  {name}")


if __name__ == "__main__":
    main()
