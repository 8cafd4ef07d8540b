"""Does labelling what `unet review` chooses teach the model more than labelling at random?

On a folder of images/ and masks/ (default: the magnetic tiles' training split), per seed:
1. a seeded 20 % of the images is the test split, the same for every arm; the rest is the pool;
2. 10 % of the pool starts labelled (`--start`); `unet plan` plans on it (one plan for all the
   runs of the seed, each with its own dataset_path) and `unet run -p` trains the first model;
3. `unet review` scores the unlabelled rest with that model (both measures, every image);
4. another 10 % of the pool (`--add`) is labelled, chosen by each measure (margin, pixels) and at
   random; each arm retrains from scratch with the same plan, for its steps (not its time budget,
   so that a busy machine does not shorten one arm);
5. each arm's test defect Dice and image AUROC, and the seeds' means, are printed.
The masks stand for a person's labels: a chosen image is "labelled" by linking its mask in.

    python tests/benchmarks/bench_review.py [--data DIR] [--budget 6m] [--seeds 0,1] [--work DIR]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from tests.benchmarks.plan_runs import unet
from unet_defects.adapters.datasets.image_folder import list_pairs
from unet_defects.adapters.hardware import cpu_flags, cpu_model
from unet_defects.domain.review import Uncertainty, most_uncertain

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_DATA = ROOT.parent / "shared" / "realdata" / "magnetic_tile"


def link_folder(target: Path, samples) -> Path:
    """images/ and masks/ of `samples`, as links to the files."""
    for sub in ("images", "masks"):
        (target / sub).mkdir(parents=True, exist_ok=True)
    for sample in samples:
        (target / "images" / sample.image.name).symlink_to(sample.image.resolve())
        if sample.mask is not None:
            (target / "masks" / sample.mask.name).symlink_to(sample.mask.resolve())
    return target


def arm(work: Path, name: str, labelled, test) -> Path:
    root = work / name
    link_folder(root / "train", labelled)
    link_folder(root / "test", test)
    return root


def train(plan: Path, data: Path, model_dir: Path) -> dict:
    tick = time.perf_counter()
    # The plan's steps, not its time budget: every arm trains as long, however busy the machine.
    unet("run", "-p", str(plan), "--set", f"train_input.dataset_path={data}", "--set",
         f"runconfig.model_dir={model_dir}", "--set", "runconfig.time_budget=null", "--set",
         "optimizer.schedule_follows=steps")
    results = json.loads((model_dir / "eval" / "results.json").read_text())
    test = results.get("test", results)
    return {"defect_Dice": test["defect_Dice"], "image_AUROC": test.get("image_AUROC"),
            "image_F1": test.get("image_F1"), "seconds": time.perf_counter() - tick}


def defective_share(samples) -> float:
    """The share of images whose mask holds a defect pixel."""
    import imageio.v3 as iio

    flagged = [s.mask is not None and bool(np.asarray(iio.imread(s.mask)).any()) for s in samples]
    return float(np.mean(flagged)) if flagged else 0.0


def one_seed(data: Path, seed: int, budget: str, start: float, add: float, work: Path) -> dict[str, dict]:
    samples = list_pairs(data)
    order = np.random.default_rng(seed).permutation(len(samples))
    cut = round(0.2 * len(samples))
    test = [samples[i] for i in sorted(order[:cut])]
    pool = [samples[i] for i in order[cut:]]
    first, more = round(start * len(pool)), round(add * len(pool))
    labelled, unlabelled = pool[:first], pool[first:]
    print(f"seed {seed}: {len(test)} test images, pool {len(pool)}; {first} labelled "
          f"({defective_share(labelled):.0%} defective), {more} more to choose from {len(unlabelled)}", flush=True)
    start_root = arm(work, f"start-{seed}", labelled, test)
    plan = work / f"plan-{seed}.yaml"
    unet("plan", str(start_root), "--budget", budget, "--output", str(plan))
    rows = {"start": train(plan, start_root, work / f"model-start-{seed}")}
    print(f"  start: {rows['start']}", flush=True)
    listing = work / f"unlabelled-{seed}.txt"
    listing.write_text("\n".join(str(s.image) for s in unlabelled) + "\n")
    review = work / f"review-{seed}"
    tick = time.perf_counter()
    unet("review", "--model_dir", str(work / f"model-start-{seed}"), "--input", str(listing), "--output", str(review),
         "--count", str(more), "--annotations", "coco")
    print(f"  review of {len(unlabelled)} images: {time.perf_counter() - tick:.0f} s", flush=True)
    scored = json.loads((review / "review.json").read_text())["images"]
    measured = [(row["file"], Uncertainty(row["margin"], row["pixels"])) for row in scored]
    by_name = {str(s.image): s for s in unlabelled}
    picks = {by: [by_name[name] for name, _ in most_uncertain(measured, by)[:more]] for by in ("margin", "pixels")}
    picks["random"] = [unlabelled[i] for i in np.random.default_rng(seed + 1000).permutation(len(unlabelled))[:more]]
    for name, chosen in picks.items():
        root = arm(work, f"{name}-{seed}", labelled + chosen, test)
        rows[name] = train(plan, root, work / f"model-{name}-{seed}")
        rows[name]["chosen_defective"] = defective_share(chosen)
        print(f"  {name}: {rows[name]}", flush=True)
    return rows


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--budget", default="6m")
    parser.add_argument("--seeds", default="0,1")
    parser.add_argument("--start", type=float, default=0.1)
    parser.add_argument("--add", type=float, default=0.1)
    parser.add_argument("--work", type=Path)
    args = parser.parse_args(argv)
    if not (args.data / "images").is_dir():
        raise SystemExit(f"{args.data}: no images/ (the magnetic tiles are in ../shared/realdata; see SOURCES.md)")
    work = args.work or Path(tempfile.mkdtemp(prefix="bench-review-"))
    flags = sorted(f for f in cpu_flags() if f in ("avx2", "fma", "avx512f", "avx512_bf16") or f.startswith("amx"))
    print(f"CPU: {cpu_model()}, flags {', '.join(flags)}; work {work}", flush=True)
    results = {seed: one_seed(args.data, seed, args.budget, args.start, args.add, work)
               for seed in (int(s) for s in args.seeds.split(","))}
    (work / "results.json").write_text(json.dumps(results, indent=1))
    print(f"\n{'arm':<8} {'defect Dice':>24} {'image AUROC':>24} {'image F1':>24}  (per seed, then mean)")
    for name in ("start", "margin", "pixels", "random"):
        cells = []
        for key in ("defect_Dice", "image_AUROC", "image_F1"):
            values = [rows[name][key] for rows in results.values() if rows[name][key] is not None]
            cells.append(" ".join(f"{v:.3f}" for v in values) + f" | {np.mean(values):.3f}" if values else "n/a")
        print(f"{name:<8} " + " ".join(f"{cell:>24}" for cell in cells))


if __name__ == "__main__":
    main(sys.argv[1:])
