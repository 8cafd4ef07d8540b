"""Use case: a run on one page (report.html) to send a colleague: what it ran with, how it learnt,
its evaluation's pictures, its decision and its test scores, each score with what it means."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from unet_defects.application.evaluation_pictures import PICTURE_FILES
from unet_defects.application.report_page_ports import (
    CalibrationSummary,
    PageWriter,
    Picture,
    PictureSet,
    ReportPage,
    Rows,
    RunFiles,
    ScoreLine,
)
from unet_defects.domain.durations import format_duration
from unet_defects.domain.experiment import ExperimentSpec
from unet_defects.domain.metrics import SCORE_NAMES
from unet_defects.domain.operating_point import OperatingPoint
from unet_defects.domain.plan_record import PlanRecord
from unet_defects.domain.score_meanings import meaning

PAGE_FILE = "report.html"
CURVES_FILE = "report.png"
PAGE_SCORES = (*SCORE_NAMES, "defect_recall", "defect_precision")
# Each evaluation picture's title and how to read it.
PICTURE_CAPTIONS = {
    "pr_curves.png": ("Precision and recall",
     "Precision against recall as the threshold sweeps, for pixels and for whole parts, with the average precision "
     "in the legend. The closer a curve hugs the top right corner, the fewer false alarms each found defect costs."),
    "threshold_curves.png": ("Scores by threshold",
     "Precision, recall and F1 at each probability threshold, the threshold in force marked. Moving left of the mark "
     "catches more defects and raises more false alarms; moving right does the opposite."),
    "confusion.png": ("Part verdicts",
     "Good and defective parts against what the decision in force said of them. The diagonal holds the right "
     "verdicts; off it are the missed defects and the good parts stopped."),
    "worst_dice.png": ("Worst segmented images",
     "The images with the lowest Dice, truth and prediction outlined in two colours, the score and the file name on "
     "each tile. A shared look among them (a defect type, a texture, the lighting) says what to add to training."),
    "false_alarms.png": ("Strongest false alarms",
     "The good images the model scored as most defective. Look-alikes repeated here (dust, edges, glare) call for "
     "more good images of that kind in training."),
}
# Each evaluation folder's pictures, in reading order: (file, title, how to read it).
EVALUATION_PICTURES = tuple((name, *PICTURE_CAPTIONS[name]) for name in PICTURE_FILES)
# (split of RunFiles.picture, heading): the test images first, when scored apart.
EVALUATION_FOLDERS = (("test", "Test images (eval/test/)"),
                      ("validation", "Validation images, which chose the checkpoint (eval/)"))
ONE_EVALUATION = "Evaluation images (eval/)"  # eval/'s heading when no test images were scored apart


class ReportPageUseCase:
    def __init__(self, files: RunFiles, writer: PageWriter, experiment: ExperimentSpec) -> None:
        self._files = files
        self._writer = writer
        self._experiment = experiment

    def execute(self, curves: str | None = None) -> str:
        """Write <model_dir>/report.html; `curves`: the learning curves' picture (report.png)."""
        model_dir = Path(self._experiment.run.model_dir)
        return self._writer.write(str(model_dir / PAGE_FILE), self.gather(curves or str(model_dir / CURVES_FILE)))

    def gather(self, curves: str) -> ReportPage:
        records = self._files.records()
        drawn = self._files.picture(curves)
        results = records.results or {}
        block = _object(results.get("test")) or results  # the test images' block, when scored apart
        calibration = records.calibration or {}
        return ReportPage(
            title=f"UNet run {self._experiment.run.model_dir}",
            configuration=configuration_rows(self._experiment), plan=plan_rows(self._experiment.plan),
            params=records.params,
            curves=None if drawn is None else Picture(
                "Learning curves", "The training loss and the evaluation scores over the steps (report.png). A loss "
                "that levels off while the scores still climb is normal; scores that fall late mean overfitting.",
                drawn),
            pictures=self._pictures(apart="test" in results), decision=str(block.get("decision", "")),
            calibrations=calibration_summaries(calibration), calibration_method=str(calibration.get("method", "")),
            line=_line(block.get("operating_point")), scores_heading=_scores_heading(block),
            scores=tuple(ScoreLine(name, _number(block[name]), meaning(name, block.get("image_AUROC_score")))
                         for name in PAGE_SCORES if name in block),
        )

    def _pictures(self, apart: bool) -> tuple[PictureSet, ...]:
        """Each evaluation folder's pictures; `apart`: the test images were scored apart from eval/'s."""
        sets = []
        for split, heading in EVALUATION_FOLDERS:
            if split == "test" and not apart:  # eval/test/ left by an earlier run with test images apart
                continue
            heading = heading if apart else ONE_EVALUATION
            found = ((title, caption, self._files.picture(name, split)) for name, title, caption in EVALUATION_PICTURES)
            pictures = tuple(Picture(title, caption, png) for title, caption, png in found if png is not None)
            if pictures:
                sets.append(PictureSet(heading, pictures))
        return tuple(sets)


def configuration_rows(experiment: ExperimentSpec) -> Rows:
    data, model, run = experiment.data, experiment.model, experiment.run
    height, width, channels = data.image_shape
    rows = [("data", f"{data.dataset} at {data.dataset_path}" + (f": {data.description}" if data.description else "")),
            ("images", f"{height}x{width}, {channels} channel(s), batches of {data.train_batch_size}")]
    if len(data.class_names) > 1:
        rows.append(("classes", ", ".join(data.class_names)))
    rows += [("network", f"{model.encoder} encoder, filters {', '.join(map(str, model.encoder_filters))}"
                         + (", a classifier head deciding the part" if model.classifier_head else "")),
             ("loss", experiment.loss.loss),
             ("optimizer", f"{experiment.optimizer.optimizer_type}, learning rate "
                           f"{_learning_rate(experiment.optimizer.learning_rate)}"),
             ("training", f"{run.max_steps} steps" + (f" within {format_duration(run.time_budget)}"
                                                      if run.time_budget else "")),
             ("held out", f"{data.validation_split:.0%} of the training images for validation"
                          + (", then calibrated the decision on them" if run.calibrate else "")
                          if data.validation_split else "none (no validation split)")]
    return tuple(rows)


def plan_rows(plan: PlanRecord) -> Rows:
    """What `unet plan` measured and advised; nothing for a run it did not plan."""
    if plan == PlanRecord():
        return ()
    rows = [("planned on", plan.dataset_path)]
    if plan.budget:
        rows.append(("budget", plan.budget))
    if plan.seconds_per_step:
        rows.append(("a training step", f"{plan.seconds_per_step:.3g} s as the planner timed it"))
    rows += [("advice", line) for line in plan.advice]
    for key, value in (plan.fingerprint or {}).items():
        shown = _fact(value)
        if shown:
            rows.append((key.replace("_", " "), shown))
    return tuple(rows)


def calibration_summaries(calibration: Mapping) -> tuple[CalibrationSummary, ...]:
    """calibration.json's decision per class (one at the top, several as `classes`)."""
    if not calibration:
        return ()
    entries = calibration.get("classes") if "classes" in calibration else [calibration]
    summaries = []
    for entry in entries if isinstance(entries, list) else []:
        if not isinstance(entry, dict):
            continue
        gate = _object(entry.get("gate"))
        decision = [(key, _shown(entry[key])) for key in ("threshold", "min_area", "area_at")
                    if entry.get(key) is not None]
        decision += [(f"classifier gate {key}", _shown(gate[key])) for key in ("threshold", "area_bar")
                     if gate.get(key) is not None]
        before, after = _object(entry.get("before")), _object(entry.get("after"))
        scores = [key for key in after if key not in ("threshold", "min_area")]
        summaries.append(CalibrationSummary(
            label=str(entry.get("name", "")), decision=tuple(decision), chosen_on=str(entry.get("chosen_on", "")),
            comparison=tuple((key, _shown(before.get(key)), _shown(after[key])) for key in scores)))
    return tuple(summaries)


def _scores_heading(block: Mapping) -> str:
    if "split" not in block:
        return ""
    return (f"the {block['split']} split at step {block.get('global_step', '?')}, {block.get('num_images', '?')} images"
            + (f", test-time augmentation {block['tta']}" if block.get("tta") not in (None, "none") else ""))


def _line(point: object) -> str:
    """The operating point's sentence, from results.json's record of it."""
    if not isinstance(point, dict):
        return ""
    try:
        rates = point.get("recall_at_false_alarm_rate") or {}
        return OperatingPoint(defective=int(point["defective_parts"]), found=int(point["found"]),
                              good=int(point["good_parts"]), stopped=int(point["false_alarms"]),
                              recall_at=tuple((float(rate), _number(recall)) for rate, recall in rates.items())).sentence()
    except (KeyError, TypeError, ValueError, AttributeError):
        return ""  # an older or hand-edited record: the scores still show


def _learning_rate(rate: object) -> str:
    if isinstance(rate, (int, float)):
        return f"{rate:g}"
    phases = [str(phase.get("scheduler", "?")) for phase in rate if isinstance(phase, dict)] \
        if isinstance(rate, (list, tuple)) else []
    return " then ".join(phases) + " schedule" if phases else str(rate)


def _fact(value: object) -> str:
    """A fingerprint entry in words: a number or word as is, a spread by its median and range."""
    if isinstance(value, dict):
        if "median" in value:
            return f"median {_shown(value['median'])} ({_shown(value.get('low'))} to {_shown(value.get('high'))})"
        return ", ".join(map(str, value))  # the defect types counted
    if isinstance(value, (list, tuple)):
        return ", ".join(map(str, value))
    return _shown(value)


def _object(value: object) -> dict:
    """A JSON object of a file, {} for anything else: a hand-edited record shows what it still has."""
    return value if isinstance(value, dict) else {}


def _number(value: object) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _shown(value: object) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)
