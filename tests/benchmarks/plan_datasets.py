"""The datasets `bench_accuracy.py plan` runs on, made in a work folder from ../shared/realdata
(never copied into the project): the magnetic tiles' seeded split, CrackForest as it is, and
stand-ins for the shapes the project is judged on that nobody here has."""

from __future__ import annotations

import os
import random
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
REAL = ROOT.parent / "shared" / "realdata"
# mt: the magnetic tiles, many image sizes, 28 % defective, five types. cf: CrackForest, every
# part defective. mt_rare: a few defective parts among many good ones. tall: tall images (256
# wide, 1,024 tall) with defects under 1 % of their area. rare: the synthetic stand-in.
# mt_types: the magnetic tiles' five defect types as label masks (Free is background) with a
# classes.txt. sev_types: the Severstal sample's classes as label masks (the larger ClassId wins
# where two overlap).
DATASETS = ("mt", "cf", "mt_rare", "tall", "rare", "mt_types", "sev_types")
TALL_SIDE, TALL_TILES = 256, 4


def real(folder: str) -> Path:
    path = REAL / folder
    if not path.is_dir():
        raise SystemExit(f"{path}: not found (the real data lives in ../shared/realdata)")
    return path


def magnetic_tile_split(seed: int = 1) -> dict[str, list[str]]:
    """The stems of train/ and test/: 80/20 of every type, seeded."""
    stems = sorted(path.stem for path in (real("magnetic_tile") / "images").glob("*.jpg"))
    by_type = defaultdict(list)
    for stem in stems:
        by_type[stem.split("_")[1]].append(stem)
    rng = random.Random(seed)
    test = set()
    for kind in sorted(by_type):
        chosen = by_type[kind][:]
        rng.shuffle(chosen)
        test.update(chosen[: round(0.2 * len(chosen))])
    return {"train": [s for s in stems if s not in test], "test": [s for s in stems if s in test]}


def link(root: Path, split: str, stem: str) -> None:
    source = real("magnetic_tile")
    for folder, suffix in (("images", ".jpg"), ("masks", ".png")):
        target = root / split / folder
        target.mkdir(parents=True, exist_ok=True)
        os.symlink(source / folder / f"{stem}{suffix}", target / f"{stem}{suffix}")


def defective(stem: str) -> bool:
    import imageio.v3 as iio

    return bool((iio.imread(real("magnetic_tile") / "masks" / f"{stem}.png") > 127).any())


def magnetic_tiles(work: Path) -> Path:
    root = work / "magnetic_tile"
    if not root.is_dir():  # an earlier run in a kept work folder made it
        for split, stems in magnetic_tile_split().items():
            for stem in stems:
                link(root, split, stem)
    return root


def magnetic_tiles_rare(work: Path, train_defective: int = 25, test_defective: int = 15, seed: int = 2) -> Path:
    """Every good tile of the split and a seeded few defective ones, in train/ and in test/."""
    root = work / "magnetic_tile_rare"
    if not root.is_dir():
        rng = random.Random(seed)
        for split, stems in magnetic_tile_split().items():
            bad = [stem for stem in stems if defective(stem)]
            keep = set(rng.sample(bad, train_defective if split == "train" else test_defective))
            for stem in stems:
                if stem in keep or stem not in bad:
                    link(root, split, stem)
    return root


def tall_images(work: Path, defective_share: float = 0.15, seed: int = 3) -> Path:
    """Tiles of the split, each squared to 256 x 256, stacked four high: 256 x 1024 images with at
    most one defective tile (about 15 % of the images), so a defect is a small share of its image."""
    import imageio.v3 as iio
    from PIL import Image

    root = work / "tall"
    if root.is_dir():
        return root
    source, rng = real("magnetic_tile"), random.Random(seed)

    def square(path: Path, resample) -> np.ndarray:
        return np.asarray(Image.open(path).convert("L").resize((TALL_SIDE, TALL_SIDE), resample))

    for split, stems in magnetic_tile_split().items():
        good = [s for s in stems if not defective(s)]
        bad = [s for s in stems if s not in set(good)]
        rng.shuffle(good)
        rng.shuffle(bad)
        index = 0
        while len(good) >= TALL_TILES:
            tiles = [bad.pop()] if bad and rng.random() < defective_share else []
            tiles += [good.pop() for _ in range(TALL_TILES - len(tiles))]
            rng.shuffle(tiles)
            image = np.concatenate([square(source / "images" / f"{s}.jpg", Image.BILINEAR) for s in tiles])
            mask = np.concatenate([square(source / "masks" / f"{s}.png", Image.NEAREST) for s in tiles])
            for folder, array in (("images", image), ("masks", np.where(mask > 127, 255, 0).astype(np.uint8))):
                (root / split / folder).mkdir(parents=True, exist_ok=True)
                iio.imwrite(root / split / folder / f"tall_{index:04d}.png", array)
            index += 1
    return root


def synthetic_rare(work: Path) -> Path:
    root = work / "rare"
    if not root.is_dir():
        subprocess.run([sys.executable, "-m", "unet_defects.cli", "synth", "rare", "--output", str(root), "--images",
                        "80", "--seed", "4"], cwd=ROOT, check=True, capture_output=True)
    return root


MAGNETIC_TYPES = ("Blowhole", "Break", "Crack", "Fray", "Uneven")


def magnetic_tile_types(work: Path) -> Path:
    """The split of `magnetic_tiles`, each mask a label image: the type's line in classes.txt
    (the type is in the file name; Free tiles have empty masks)."""
    import imageio.v3 as iio

    root = work / "magnetic_tile_types"
    if root.is_dir():
        return root
    source = real("magnetic_tile")
    for split, stems in magnetic_tile_split().items():
        for folder in ("images", "masks"):
            (root / split / folder).mkdir(parents=True, exist_ok=True)
        for stem in stems:
            kind = stem.split("_")[1]
            label = MAGNETIC_TYPES.index(kind) + 1 if kind in MAGNETIC_TYPES else 0
            os.symlink(source / "images" / f"{stem}.jpg", root / split / "images" / f"{stem}.jpg")
            drawn = iio.imread(source / "masks" / f"{stem}.png") > 127
            iio.imwrite(root / split / "masks" / f"{stem}.png", (drawn * label).astype(np.uint8))
    (root / "classes.txt").write_text("\n".join(MAGNETIC_TYPES) + "\n")
    return root


def severstal_types(work: Path) -> Path:
    """The Severstal sample as images/ and label masks/ (pixel = ClassId, the larger where two
    overlap) with a classes.txt naming the four classes; one folder, split by the plan."""
    import csv

    import imageio.v3 as iio

    from unet_defects.domain.rle import decode

    root = work / "severstal_types"
    if root.is_dir():
        return root
    source = real("severstal")
    labels: dict[str, np.ndarray] = {}
    with open(source / "train.csv", newline="") as rows:
        for row in csv.DictReader(rows):
            mask = labels.setdefault(row["ImageId"], np.zeros((256, 1600), np.uint8))
            mask[decode(row["EncodedPixels"]) > 0] = int(row["ClassId"])
    for folder in ("images", "masks"):
        (root / folder).mkdir(parents=True, exist_ok=True)
    for path in sorted((source / "train_images").glob("*.jpg")):
        os.symlink(path, root / "images" / path.name)
        iio.imwrite(root / "masks" / f"{path.stem}.png", labels.get(path.name, np.zeros((256, 1600), np.uint8)))
    (root / "classes.txt").write_text("class_1\nclass_2\nclass_3\nclass_4\n")
    return root


def dataset(name: str, work: Path) -> Path:
    makers = {"mt": magnetic_tiles, "mt_rare": magnetic_tiles_rare, "tall": tall_images, "rare": synthetic_rare,
              "cf": lambda _: real("crackforest"), "mt_types": magnetic_tile_types, "sev_types": severstal_types}
    if name not in makers:
        raise SystemExit(f"unknown dataset {name!r}; expected one of {', '.join(DATASETS)}")
    return makers[name](work)
