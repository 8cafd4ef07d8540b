"""What the CLI prints: the scores table and progress lines."""

from __future__ import annotations

import json
import logging
import sys
import time
from collections.abc import Callable

from unet_defects.application.evaluation_pictures import PICTURE_FILES
from unet_defects.application.info import cpu_line, gpu_line
from unet_defects.domain.defects import SIZE_BOUNDS_TEXT, SIZE_NAMES
from unet_defects.domain.durations import format_duration
from unet_defects.domain.part_score import PEAK
from unet_defects.domain.score_meanings import meaning

log = logging.getLogger("unet")


def _figure(value: float | None) -> str:
    return "   n/a" if value is None else f"{value:.4f}"


def print_training(outcome) -> None:
    if outcome.steps_run:
        figures = [f"in {outcome.seconds:.1f}s"]
        if outcome.last_loss is not None:
            figures.append(f"last loss {outcome.last_loss:.4f}")
        if outcome.images_per_second is not None:
            figures.append(f"{outcome.images_per_second:.1f} images/s")
        print(f"trained steps {outcome.start_step}..{outcome.final_step} " + ", ".join(figures))


def print_train_and_eval(done, experiment) -> None:
    print_training(done.training)
    if done.training.stopped_by == "time_budget":
        print(f"stopped at step {done.training.final_step}: runconfig.time_budget ran out before max_steps")
    final = done.final
    print_evaluation([final.validation, final.test] if final else done.evaluations[-1:], experiment)
    if final is not None:
        print(f"wrote {final.written} (the test's scores at the top, validation and test blocks)")


def print_benchmark(report) -> None:
    log.info("%s: %.2f images/s (%s, %s)", report.mode, report.images_per_second, report.precision, report.device)
    print(json.dumps(report.as_dict()))


def print_compilation(report) -> int:
    """The parameter count, FLOPs and precision, then each problem on its own line (exit 2) or
    what was validated or compiled."""
    print(f"parameters {report.parameters:,}, {report.forward_flops_per_image / 1e9:.2f} GFLOP per image forward, "
          f"precision {report.precision}")
    for problem in report.problems:
        print(f"unet: {problem}", file=sys.stderr)
    if report.problems:
        return 2
    if report.kind == "validate":
        print("validated: the training step traces for the input pipeline's batches (nothing was run)")
    else:
        print(report.details.summary + "".join(f"; wrote {path}" for path in report.details.files))
    return 0


def print_evaluation(results, experiment) -> None:
    names = experiment.evaluation.reported_scores()
    for result in results:
        scores = result.scores.as_dict()
        split = {"eval": "evaluation", "validation": "validation", "test": "test"}.get(result.split, result.split)
        print(f"{split} at step {result.step} on {result.num_images} images ({result.decision}; "
              f"tta {result.tta}):")
        several = len(result.per_class) > 1
        if several:
            print(f"  (each score: the mean of its {len(result.per_class)} classes' below)")
        for name in names:
            about = meaning(name, result.score_name)
            if name == "image_AUROC" and result.score_name != PEAK:
                about += f" (by the largest probability: {_figure(result.peak_auroc).strip()})"
            print(f"  {name:<15} {_figure(scores[name])}   {about}")
        if result.operating_point is not None and (result.operating_point.good or result.operating_point.defective):
            print(f"  the line: {result.operating_point.sentence()}")
        if several:
            print_classes(result)
        if result.defects is not None:
            found = result.defects
            print(f"  defects: {found.true_found} of {found.true_total} true defects found (recall "
                  f"{_figure(found.scores()['defect_recall'])}), {found.predicted_matched} of {found.predicted_total} "
                  f"predicted are real (precision {_figure(found.scores()['defect_precision'])})")
            print("  recall by size: " + ", ".join(
                f"{size} {found.found_by_size[index]}/{found.true_by_size[index]}"
                for index, size in enumerate(SIZE_NAMES)) + f" ({SIZE_BOUNDS_TEXT})")
        if result.gate is not None:
            print_gate_scores(result.gate, several)
        if result.threshold_scores:
            columns = ("mIOU", "DSC", "defect_IoU", "defect_Dice", "per_image_Dice")
            print("  " + f"{'threshold':<10}" + "".join(f"{c:>15}" for c in columns))
            for threshold, scores in result.threshold_scores:
                values = scores.as_dict()
                print("  " + f"{threshold:<10g}" + "".join(f"{values[c]:>15.4f}" for c in columns))
        for warning in result.warnings:
            print(f"  warning: {warning}")
        if result.best is not None:
            print(f"  kept as {result.best.describe()}: {result.best.checkpoint.path}")
        for path in result.written:
            if path.endswith("results.json") or "/samples/" in path:
                print(f"  wrote {path}")
        pictures = [path for path in result.written if path.endswith(PICTURE_FILES)]
        if pictures:
            folder, _, _ = pictures[0].rpartition("/")
            print(f"  wrote {', '.join(path.rpartition('/')[2] for path in pictures)} in {folder or '.'}")
        if result.split == "test":
            print("  (scored once, after training: the test images chose nothing)")


def print_gate_scores(gate: dict, several: bool) -> None:
    """Image-level scores of the segmentation rule and of the classifier gate, side by side."""
    columns = ("image_precision", "image_recall", "image_F1", "image_AUROC", "false_alarm_rate")
    print("  " + f"{'image level':<22}" + "".join(f"{c:>17}" for c in columns))
    for label, block in (gate.items() if several else [("", gate)]):
        for side in ("segmentation", "classifier"):
            name = f"{label} {side}".strip()
            print("  " + f"{name[:21]:<22}" + "".join(f"{_figure(block[side][c]):>17}" for c in columns))


def print_classes(result) -> None:
    """Each defect class's main scores, then Severstal's leaderboard metric."""
    columns = ("defect_IoU", "defect_Dice", "per_image_Dice", "image_F1", "image_AUROC")
    print("  " + f"{'class':<22}" + "".join(f"{c:>15}" for c in columns))
    for class_id, name, scores in result.per_class:
        values = scores.as_dict()
        label = name if name == f"class {class_id}" else f"{class_id} {name}"
        print("  " + f"{label[:21]:<22}" + "".join(f"{_figure(values[c]):>15}" for c in columns))
    print(f"  {'kaggle_dice':<15} {_figure(result.kaggle_dice)}   mean Dice over (image, class) pairs, empty/empty = 1")


def print_calibration(report) -> None:
    several = len(report.chosen) > 1
    print(f"calibrated {report.source} on {report.num_images} evaluation images "
          f"({len(report.found.candidates)} candidates" + (" per class" if several else "") + "):")
    if not several:
        _print_search(report.calibration.decision, report.found, f"; wrote {report.written}")
    else:
        for chosen, found in report.chosen:
            decision = chosen.decision
            print(f"class {decision.class_id}"
                  + (f" {decision.name}" if decision.name != f"class {decision.class_id}" else "") + ":")
            _print_search(decision, found)
        print(f"wrote {report.written}")
    for (chosen, _), gate in zip(report.chosen, report.gates):
        print_gate(gate, chosen.decision.class_id)
    print("predict, export and evaluation of this model_dir now use it; calibrate on data other than your final test")
    if report.drift:
        print(report.drift)


def print_gate(found, class_id: int | None = None) -> None:
    """The classifier gate chosen, against the segmentation rule alone, on image-level scores."""
    label = f"class {class_id} " if class_id is not None else ""
    before, after = found.baseline.scores, found.best.scores
    gate = found.best.gate
    chosen = "open (the rule alone is best)" if gate.threshold == 0 else gate.describe()
    alarms = f"{_figure(before.false_alarm_rate).strip()} -> {_figure(after.false_alarm_rate).strip()}"  # n/a: no good part
    print(f"{label}gate: {chosen}; false alarms {alarms}, "
          f"image recall {before.image_recall:.4f} -> {after.image_recall:.4f}, image F1 {before.image_F1:.4f} -> "
          f"{after.image_F1:.4f} (applied with model.decision_gate: classifier)")


def _print_search(chosen, found, written: str = "") -> None:  # chosen: the Decision
    """One search's table (the 0.5 rule, the chosen, the best per threshold) and its choice."""
    columns = ("defect_Dice", "image_precision", "image_recall", "image_F1")
    print(f"  {'':<10}{'threshold':>10}{'min_area':>10}" + "".join(f"{c:>17}" for c in columns))
    best_by_threshold = {}
    for candidate in found.candidates:
        kept = best_by_threshold.get(candidate.threshold)
        if kept is None or candidate.defect_Dice > kept.defect_Dice:
            best_by_threshold[candidate.threshold] = candidate
    rows = [("0.5 rule", found.baseline), ("chosen", found.best)]
    rows += [("", c) for t, c in sorted(best_by_threshold.items()) if c not in (found.baseline, found.best)]
    for label, candidate in rows:
        values = candidate.as_dict()
        print(f"  {label:<10}{candidate.threshold:>10g}{candidate.min_area:>10}"
              + "".join(f"{values[c]:>17.4f}" for c in columns))
    area = "pixels at each image's own scale" if chosen.area_at is None else \
        f"pixels at {chosen.area_at[0]}x{chosen.area_at[1]}, scaled to each image's size"
    print(f"chose threshold {chosen.threshold:g} and min_area {chosen.min_area} ({area}); defect Dice "
          f"{found.baseline.defect_Dice:.4f} -> {found.best.defect_Dice:.4f}{written}")
    if found.best.image_recall < found.baseline.image_recall:
        print(f"note: image_recall falls from {found.baseline.image_recall:.4f} to {found.best.image_recall:.4f} (defective "
              "images left with no component); --objective image_F1 chooses for the part-level decision instead")


def print_info(report, as_json: bool = False) -> None:
    if as_json:
        print(json.dumps(report.as_dict(), indent=2))
        return
    facts = report.facts
    threads = [f"{count} ({'TensorFlow chooses' if count == 0 else 'set'})"
               for count in (facts.intra_op_threads, facts.inter_op_threads)]
    extras = ", ".join(f"{extra} {'yes' if installed else 'no'}" for extra, installed in facts.extras) or "none"
    print(f"unet-defects {facts.project_version}, Python {facts.python_version}, TensorFlow {facts.tensorflow_version} "
          f"({', '.join(facts.tensorflow_distributions) or 'distribution unknown'}), Keras {facts.keras_version}")
    print(f"CPU: {cpu_line(facts)}")
    print(f"GPUs TensorFlow sees: {gpu_line(facts)}")
    print(f"mixed_precision: True resolves to {report.plan.policy}, {report.plan.data_format} on the "
          f"{report.plan.device}: {report.plan.notes[0].split(': ', 1)[1]}")
    print(f"threads: intra-op {threads[0]}, inter-op {threads[1]}")
    print(f"extras installed: {extras}")
    for warning in report.warnings:
        print(f"warning: {warning}")


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


def rate_printer(verb: str, every_seconds: float = 10.0,
                 clock: Callable[[], float] = time.monotonic) -> Callable[[int, int], None]:
    """Progress of long work: done of total, the rate and the projected end (a line every
    `every_seconds` when stderr is not a terminal, and at the end). The rate is counted from the
    first progress on, so a start-up (a cluster, the workers' models) does not drag it down."""
    interactive = sys.stderr.isatty()
    first: list[tuple[int, float]] = []
    shown = [clock()]

    def show(done: int, total: int) -> None:
        now = clock()
        first[:] = first or [(done, now)]
        since, started = first[0]
        rate = (done - since) / (now - started) if now > started else 0.0
        if rate > 0:
            left = (total - done) / rate
            end = time.strftime("%H:%M:%S", time.localtime(time.time() + left))
            pace = f", {rate:.1f} files/s, about {format_duration(left)} left (ends {end})"
        else:
            pace = ""
        line = f"{verb} {done}/{total} files{pace}"
        if interactive:
            sys.stderr.write(f"\r{line}" + ("\n" if done == total else ""))
            sys.stderr.flush()
        elif done == total or now - shown[0] >= every_seconds:
            shown[0] = now
            log.info("%s", line)

    return show
