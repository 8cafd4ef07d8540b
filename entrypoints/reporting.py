"""What the CLI prints: the scores table and progress lines."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable

log = logging.getLogger("unet")

DESCRIPTIONS = {
    "mIOU": "mean IoU of background and defect (reference)",
    "DSC": "mean Dice of background and defect (reference)",
    "MPCA": "mean per-class accuracy (reference)",
    "Acc": "pixel accuracy (reference)",
    "defect_IoU": "IoU of the defect class alone",
    "defect_Dice": "Dice of the defect class alone",
    "per_image_Dice": "mean per-image defect Dice, empty/empty = 1",
}


def print_training(outcome) -> None:
    if outcome.steps_run:
        print(
            f"trained steps {outcome.start_step}..{outcome.final_step} in {outcome.seconds:.1f}s, "
            f"last loss {outcome.last_loss:.4f}, {outcome.images_per_second:.1f} images/s"
        )


def print_evaluation(results, experiment) -> None:
    names = experiment.evaluation.reported_scores()
    for result in results:
        scores = result.scores.as_dict()
        print(f"evaluation at step {result.step} on {result.num_images} images:")
        for name in names:
            print(f"  {name:<15} {scores[name]:.4f}   {DESCRIPTIONS[name]}")
        if result.threshold_scores:
            columns = ("mIOU", "DSC", "defect_IoU", "defect_Dice", "per_image_Dice")
            print("  " + f"{'threshold':<10}" + "".join(f"{c:>15}" for c in columns))
            for threshold, scores in result.threshold_scores:
                values = scores.as_dict()
                print("  " + f"{threshold:<10g}" + "".join(f"{values[c]:>15.4f}" for c in columns))
        for path in result.written:
            if path.endswith("results.json") or "/samples/" in path:
                print(f"  wrote {path}")


def progress_printer(verb: str) -> Callable[[int, int], None]:
    interactive = sys.stderr.isatty()

    def show(done: int, total: int) -> None:
        if interactive:
            sys.stderr.write(f"\r{verb} {done}/{total} files")
            if done == total:
                sys.stderr.write("\n")
            sys.stderr.flush()
        elif done == total or done % 100 == 0:
            log.info("%s %d/%d files", verb, done, total)

    return show
