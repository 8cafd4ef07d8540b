"""Use case: plan a run for a user's own images (`unet plan`): read the dataset once, apply the
planning rules, time a few real training steps of the plan on this machine, size the run to the
budget, and write a complete, commented params file."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import attrs

from unet_defects.application.planning_ports import DatasetSurvey, Fingerprinter, PlanWriter, StepTimer
from unet_defects.application.values import StepTiming
from unet_defects.domain.durations import format_duration
from unet_defects.domain.fingerprint import DatasetFingerprint, summarize
from unet_defects.domain.layouts import layout as dataset_layout
from unet_defects.domain.planning import TEST_SPLIT, Choice, DataSplit, Draft, check_plannable, draft, sections
from unet_defects.domain.run_duration import (
    FINAL_PASSES,
    Length,
    curve_images,
    length_choices,
    sample_choice,
    training_length,
)
from unet_defects.domain.splitting import types_from_names


@attrs.frozen(kw_only=True)
class Plan:
    """The planned configuration: every choice with its reason, what was measured, and the budget."""

    fingerprint: DatasetFingerprint
    layout: DataSplit
    choices: tuple[Choice, ...]
    advice: tuple[str, ...]
    budget: float
    length: Length
    timing: StepTiming
    measured: tuple[str, ...]  # what the dataset is like, a line each, for the file's header

    def mapping(self) -> dict[str, dict[str, Any]]:
        return sections(self.choices)

    def choices_value(self, section: str, key: str) -> Any:
        return self.mapping()[section][key]


def describe(fp: DatasetFingerprint) -> tuple[str, ...]:
    """What the fingerprint found, a line each."""
    lines = [
        f"{fp.images} training images, {fp.defective_images} defective ({fp.defective_share:.0%}), "
        f"{'colour' if fp.colour_share > 0.5 else 'gray'}",
        f"image sizes: height {fp.height.minimum:.0f}-{fp.height.maximum:.0f} (median {fp.height.median:.0f}), "
        f"width {fp.width.minimum:.0f}-{fp.width.maximum:.0f} (median {fp.width.median:.0f})",
        f"defect pixels: {fp.defect_pixel_share:.3%} of all; {fp.defect_coverage.median:.2%} of a defective image "
        f"(median; a tenth under {fp.defect_coverage.low:.2%})",
        f"defect components: {fp.components}; area median {fp.component_area.median:.0f} px (a tenth under "
        f"{fp.component_area.low:.0f}, a tenth over {fp.component_area.high:.0f}); width median "
        f"{fp.component_width.median:.1f} px (a tenth under {fp.component_width.low:.1f})",
        f"intensity: mean gray {fp.mean_gray:.0f}; image means vary {fp.exposure_variation:.2f} x the spread within an "
        f"image; defects differ from their image by "
        + ("n/a" if fp.defect_contrast is None else f"{fp.defect_contrast:.2f} x its spread")
        + f"; texture gradient ratio x/y {fp.texture_direction:.2f}",
        f"masks: {fp.mask_kind}" + (f" (labels {list(fp.label_values)})" if fp.label_values else ""),
    ]
    if fp.classes:
        lines.append(f"{len(fp.classes)} defect types, one class each (train_input.defect_class_names: null merges "
                     "them into one defect):")
        lines += [f"  type {c.describe(fp.images)}" for c in fp.classes]
    if fp.types:
        lines.append("types from the file names: " + ", ".join(
            f"{name} {n} ({d} defective)" for name, (n, d) in sorted(fp.types.items())))
    return tuple(lines)


class PlanUseCase:
    def __init__(self, survey: DatasetSurvey, fingerprinter: Fingerprinter, timer: StepTimer,
                 writer: PlanWriter) -> None:
        self._survey = survey
        self._fingerprinter = fingerprinter
        self._timer = timer
        self._writer = writer

    def execute(self, dataset_path: str, budget: float, output: str,
                progress: Callable[[int, int], None] | None = None,
                say: Callable[[str], None] = lambda text: None,
                fixed: Sequence[tuple[str, str, Any]] = ()) -> tuple[Plan, str]:
        """`fixed`: (section, key, value) choices made by the user, kept as given (`--set`);
        the run is timed and sized with them."""
        given = {(section, key): value for section, key, value in fixed}
        samples, layout = self._survey.training_samples(  # the split training will make, --set included
            dataset_path, int(given.get(("train_input", "seed"), 0)),
            float(given.get(("train_input", "train_test_split"), 1 - TEST_SPLIT)),
            given.get(("train_input", "defect_class_names")), given.get(("train_input", "category_map")))
        kinds = types_from_names([Path(sample.image).stem for sample in samples]) or [""] * len(samples)
        facts = self._fingerprinter.measure(samples, kinds, progress)
        fingerprint = summarize(facts, where=dataset_path, names=layout.class_names,
                                names_file=layout.class_names_file,
                                drawn=not dataset_layout(layout.dataset).mask_threshold)  # annotations: no mask files
        for line in describe(fingerprint):
            say(line)
        check_plannable(fingerprint, dataset_path)
        merged = ("train_input", "defect_class_names") in given and given[("train_input", "defect_class_names")] is None
        # types merged by the user (--set train_input.defect_class_names=null): planned as one defect
        planned = with_fixed(draft(attrs.evolve(fingerprint, classes=()) if merged else fingerprint, layout), fixed)
        say(f"timing a few training steps of the planned network ({planned.patch[0]}x{planned.patch[1]} crops, "
            f"batch {planned.batch}) on this machine")
        fixed_keys = {(section, key) for section, key, _ in fixed}
        if ("model", "precision") in fixed_keys:  # the user's precision is the one timed
            timing, precision = self._timer.time(planned.mapping()), None
        else:
            timing, precision = self._fastest(planned, say)
        # the timer evaluated validation images as the run does (tiles, test-time augmentation, scoring)
        per_image = timing.seconds_per_evaluation_image
        sample = given.get(("train_input", "validation_sample")) or curve_images(budget, per_image,
                                                                                 planned.validation_images)
        sample = min(int(sample), planned.validation_images)
        # after training: calibration and the validation part at its decision (the validation
        # images twice), the test images once (about as many: the planner never reads them)
        length = training_length(budget, timing.seconds_per_step, per_image * sample, timing.startup_seconds,
                                 final_passes=FINAL_PASSES,
                                 final_evaluation_seconds=per_image * planned.validation_images)
        say(length.describe(budget))
        measured = tuple(c for c in (precision, *sample_choice(sample, planned.validation_images, per_image, length),
                                     *length_choices(length, budget))
                         if c is not None and (c.section, c.key) not in fixed_keys)  # --set wins
        planned = attrs.evolve(planned, choices=planned.choices + measured)
        plan = Plan(fingerprint=fingerprint, layout=layout,
                    choices=_with_record(planned, budget, fingerprint, timing.seconds_per_step),
                    advice=planned.advice, budget=budget, length=length, timing=timing,
                    measured=describe(fingerprint))
        return plan, self._writer.write(plan, output)


    def _fastest(self, planned: Draft, say: Callable[[str], None]) -> tuple[StepTiming, Choice]:
        """Time the step with the device's mixed precision and in float32; keep the faster (on
        a CPU, bfloat16 does not pay for small convolutions)."""
        mixed = self._timer.time(planned.mapping())
        if mixed.precision == "float32":
            return mixed, Choice("model", "precision", "float32",
                                 f"this machine computes in float32 ({mixed.seconds_per_step:.3f} s a step)")
        plain = self._timer.time(_with_precision(planned, "float32"))
        say(f"a step takes {mixed.seconds_per_step:.3f} s in {mixed.precision} and {plain.seconds_per_step:.3f} s "
            "in float32 here")
        faster = mixed if mixed.seconds_per_step <= plain.seconds_per_step else plain
        # auto: the device's mixed precision here, and float32 on a machine without it
        return faster, Choice("model", "precision", "auto" if faster is mixed else "float32",
                              f"measured here: {mixed.seconds_per_step:.3f} s a step in {mixed.precision}, "
                              f"{plain.seconds_per_step:.3f} s in float32")


def with_fixed(planned: Draft, fixed: Sequence[tuple[str, str, Any]]) -> Draft:
    choices = list(planned.choices)
    for section, key, value in fixed:
        index = next((i for i, c in enumerate(choices) if (c.section, c.key) == (section, key)), None)
        choice = Choice(section, key, value, "set on the command line (unet plan --set)")
        if index is None:
            choices.append(choice)
        else:
            choices[index] = choice
    return attrs.evolve(planned, choices=tuple(choices))


def _with_precision(planned: Draft, precision: str) -> dict:
    mapping = planned.mapping()
    mapping["model"] = {**mapping["model"], "precision": precision}
    return mapping


def _with_record(planned: Draft, budget: float, fingerprint: DatasetFingerprint,
                 seconds_per_step: float | None = None) -> tuple[Choice, ...]:
    timed = () if seconds_per_step is None else (
        Choice("plan", "seconds_per_step", round(seconds_per_step, 4), "the training step timed here"),)
    record = (
        Choice("plan", "dataset_path", planned.mapping()["train_input"]["dataset_path"], "what was planned"),
        Choice("plan", "budget", format_duration(budget), "the --budget asked for"),
        Choice("plan", "advice", list(planned.advice), "printed when the model is not learning yet"),
        Choice("plan", "fingerprint", fingerprint.as_dict(), "what the planner measured"),
        *timed,
    )
    return planned.choices + record
