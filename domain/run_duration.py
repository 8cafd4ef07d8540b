"""How long a planned run trains: steps from one measured step, the evaluations and the
start-up fitted into the time budget, and the learning-rate schedule sized to those steps."""

from __future__ import annotations

import math

import attrs

from unet_defects.domain.durations import format_duration
from unet_defects.domain.planning_choice import Choice

# How many evaluations a run makes (its learning lines): as many as take at most this share of
# the budget, within these bounds (a short budget on a slow machine cannot afford eight).
EVALUATIONS = 8
MIN_EVALUATIONS = 2
EVALUATION_SHARE = 0.1
# Of the budget, this share is kept back for evaluations' noise and the last checkpoint; each
# evaluation also costs about this much beyond its images (its pipeline, pictures, summaries).
SAFETY_SHARE = 0.05
EVALUATION_OVERHEAD = 3.0
# A learning curve's evaluation scores at least this many validation images (or all, when fewer):
# a smaller sample's Dice moves too much from one evaluation to the next to read a curve by.
MIN_CURVE_IMAGES = 50
# After a planned run's training: calibration on the validation part, that part at the
# calibrated decision, and the test images: about three evaluations' work.
FINAL_PASSES = 3
# Learning rate: warm up over this share of the steps, then cosine decay to this share of the peak.
PEAK_LEARNING_RATE = 2e-3
WARMUP_SHARE = 0.05
FINAL_RATE_SHARE = 0.01


@attrs.frozen(kw_only=True)
class Length:
    """How long the plan trains, from one measured step."""

    steps: int
    seconds_per_step: float
    evaluation_seconds: float  # all evaluations together
    checkpoint_every: int
    evaluations: int = EVALUATIONS
    startup_seconds: float = 0.0  # importing, building and compiling before the steps run at their pace
    final_seconds: float = 0.0  # after training: calibration on the validation part and the test images

    def needed_seconds(self) -> float:
        return self.steps * self.seconds_per_step + self.evaluation_seconds + self.startup_seconds + self.final_seconds

    def fits(self, budget: float) -> bool:
        """False only when the fewest steps a plan makes (one per evaluation) overrun the budget."""
        return self.needed_seconds() <= budget

    def describe(self, budget: float) -> str:
        what = (f"{self.steps} steps of {self.seconds_per_step:.3f} s (measured here), {self.evaluations} evaluations "
                f"of about {self.evaluation_seconds / self.evaluations:.1f} s and {self.startup_seconds:.0f} s of start-up"
                + (f", then {self.final_seconds:.0f} s to calibrate and score the test images" if self.final_seconds
                   else ""))
        if self.fits(budget):
            return f"{what} fit {format_duration(budget)}"
        needed = self.needed_seconds()
        return (f"{what} take about {format_duration(needed)}, more than the {format_duration(budget)} asked for "
                f"(a plan makes at least {self.evaluations} steps, one per evaluation): a --budget of "
                f"{format_duration(math.ceil(needed / (1 - SAFETY_SHARE)))} or more fits them")


def curve_images(budget: float, seconds_per_image: float, validation_images: int) -> int:
    """How many validation images each evaluation during training scores: all of them when
    EVALUATIONS evaluations of them fit EVALUATION_SHARE of the budget, else as many as do, and
    at least MIN_CURVE_IMAGES (fewer evaluations then fit: evaluations_for)."""
    each = EVALUATION_SHARE * budget / EVALUATIONS - EVALUATION_OVERHEAD
    fitting = int(each / max(seconds_per_image, 1e-6))
    return min(validation_images, max(MIN_CURVE_IMAGES, fitting))


def training_length(budget: float, seconds_per_step: float, evaluation_seconds: float,
                    startup_seconds: float = 0.0, final_passes: int = 0,
                    final_evaluation_seconds: float | None = None) -> Length:
    """Steps that fit the budget with the start-up, the evaluations of `evaluation_seconds` (their
    images) each that fit a tenth of it (2 to 8), and `final_passes` passes after training
    (calibration, the validation part at the calibrated decision, the test images), each of
    `final_evaluation_seconds` (the whole validation part; the evaluations' cost when None)."""
    each = evaluation_seconds + EVALUATION_OVERHEAD
    evaluations = evaluations_for(budget, each)
    final = final_passes * ((evaluation_seconds if final_evaluation_seconds is None else final_evaluation_seconds)
                            + EVALUATION_OVERHEAD)
    usable = budget * (1 - SAFETY_SHARE) - evaluations * each - startup_seconds - final
    steps = max(evaluations, int(usable / max(seconds_per_step, 1e-6)))
    every = max(1, math.ceil(steps / evaluations))
    steps = every * evaluations
    return Length(steps=steps, seconds_per_step=seconds_per_step, evaluation_seconds=evaluations * each,
                  checkpoint_every=every, evaluations=evaluations, startup_seconds=startup_seconds, final_seconds=final)


def evaluations_for(budget: float, each: float) -> int:
    """As many evaluations as take at most EVALUATION_SHARE of the budget, MIN to EVALUATIONS."""
    return max(MIN_EVALUATIONS, min(EVALUATIONS, int(EVALUATION_SHARE * budget / max(each, 1e-6))))


def length_choices(length: Length, budget: float) -> tuple[Choice, ...]:
    warmup = max(1, int(WARMUP_SHARE * length.steps))
    schedule = [
        {"scheduler": "Linear", "initial_learning_rate": 0.0, "end_learning_rate": PEAK_LEARNING_RATE,
         "steps": warmup},
        {"scheduler": "Cosine", "initial_learning_rate": PEAK_LEARNING_RATE, "decay_steps": length.steps - warmup,
         "alpha": FINAL_RATE_SHARE},
    ]
    return (
        Choice("optimizer", "learning_rate", schedule,
               f"warm up over {warmup} steps to {PEAK_LEARNING_RATE:g}, then cosine down to "
               f"{FINAL_RATE_SHARE:.0%} of it at the last step"),
        Choice("optimizer", "schedule_follows", "time_budget",
               "on a machine slower than timed, the learning-rate schedule is compressed into the steps the budget "
               "leaves time for, so the run still ends annealed when the time budget stops it"),
        Choice("runconfig", "max_steps", length.steps, length.describe(budget)),
        Choice("runconfig", "time_budget",
               format_duration(max(budget - length.final_seconds - length.startup_seconds, budget / 2)),
               "training stops here with a checkpoint if this machine is slower than measured"
               + (f"; the budget's first {format_duration(length.startup_seconds)} start the run and its last "
                  f"{format_duration(length.final_seconds)} calibrate and score the test images"
                  if length.final_seconds else "")),
        Choice("runconfig", "save_checkpoints_steps", length.checkpoint_every,
               f"{length.evaluations} checkpoints, each evaluated on the validation part (as many as take a tenth "
               "of the budget, 2 to 8)"),
        Choice("runconfig", "keep_checkpoint_max", 3, "the last three checkpoints; the last is scored"),
    )


def pace_line(planned: float, measured: float, final_step: int, target: int, stopped_by: str,
              schedule_lead: float = 0.0) -> str:
    """How far from the plan a run trained, in one line: its median step against the plan's, and
    where it stopped (with the learning-rate schedule's position when it followed the budget)."""
    change = measured / planned - 1
    pace = (f"{abs(change):.0%} {'slower' if change > 0 else 'faster'} than" if abs(change) >= 0.005
            else "as fast as")
    line = f"training ran at a median {measured:.3f} s a step, {pace} the plan's {planned:.3f} s"
    if stopped_by == "time_budget":
        line += f"; the time budget stopped it at step {final_step} of {target}"
        if schedule_lead > 0:
            line += (f", with the learning-rate schedule at step {final_step + schedule_lead:.0f} of {target} "
                     "(it followed the budget)")
    return line


def sample_choice(sample: int, validation: int, seconds_per_image: float, length: Length) -> tuple[Choice, ...]:
    """train_input.validation_sample when the evaluations during training score a sample."""
    if sample >= validation:
        return ()
    return (Choice("train_input", "validation_sample", sample,
                   f"each of the {length.evaluations} evaluations during training scores {sample} of the {validation} "
                   f"validation images ({seconds_per_image:.3f} s an image, timed here), drawn stratified as the "
                   "validation part is, so that they take about a tenth of the budget; calibration and the final "
                   "scores use all of them"),)
