"""Use cases: train, and train_and_eval (train, evaluating after every checkpoint)."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

import attrs

from unet_defects.application.calibrate import CalibrateUseCase, CalibrationReport
from unet_defects.application.drift_recording import NO_HELD_OUT, DriftRecorder
from unet_defects.application.evaluation import EvaluateUseCase, FinalEvaluationUseCase, FinalScores
from unet_defects.application.evaluation_result import EvaluationResult
from unet_defects.application.ports import (
    Checkpoints,
    ConfigStore,
    DatasetReader,
    ModelBuilder,
    Trainer,
    TrainingJob,
    TrainingObserver,
)
from unet_defects.application.values import CheckpointRef, TrainOutcome
from unet_defects.domain.errors import ConfigError, UnetError
from unet_defects.domain.experiment import ExperimentSpec
from unet_defects.domain.invocation import Invocation
from unet_defects.domain.learning import STAYS, LearningPoint, learning_line, not_learning
from unet_defects.domain.run_duration import pace_line


def latest_step(checkpoints: Checkpoints) -> int:
    """The step of the newest kept checkpoint, 0 when there is none."""
    refs = checkpoints.list()
    return refs[-1].step if refs else 0


class TrainUseCase:
    """Train from the latest checkpoint in model_dir to the step this call asks for, after
    recording the configuration there (and refusing a model_dir of another topology)."""

    def __init__(
        self,
        builder: ModelBuilder,
        reader: DatasetReader,
        checkpoints: Checkpoints,
        trainer: Trainer,
        observer: TrainingObserver,
        config_store: ConfigStore,
        experiment: ExperimentSpec,
        invocation: Invocation,
        drift: DriftRecorder | None = None,  # the training images' statistics, the drift reference's inputs
    ) -> None:
        self._drift = drift
        self._builder = builder
        self._reader = reader
        self._checkpoints = checkpoints
        self._trainer = trainer
        self._observer = observer
        self._config_store = config_store
        self._experiment = experiment
        self._invocation = invocation

    def execute(self, after_checkpoint: Callable[[CheckpointRef], None] | None = None) -> TrainOutcome:
        for key in self._experiment.ignored_keys():
            self._observer.message(f"warning: {key}: not implemented yet, ignored")
        self._record_configuration()
        run = self._experiment.run
        start = latest_step(self._checkpoints)
        target = self._invocation.target_step(start, run.max_steps)
        if target <= start:
            self._observer.message(
                f"model_dir already holds step {start} >= max_steps {run.max_steps}: nothing to train "
                "(raise --max_steps or pass --steps to train more)"
            )
            return TrainOutcome(start_step=start, final_step=start)
        cost = self._experiment.training_cost(target - start)
        self._observer.message(f"training steps {start}..{target} costs {cost.describe()}")
        self._record_drift_inputs()
        topology = self._experiment.model
        # The trainer builds the model before it opens the stream: building seeds the framework
        # (tf_random_seed), which the data pipeline's shuffling then follows.
        job = TrainingJob(build_model=lambda: self._builder.build(topology), open_stream=self._reader.training_stream,
                          target_step=target, observer=self._observer, after_checkpoint=after_checkpoint,
                          time_budget=run.time_budget)
        outcome = self._trainer.train(job)
        planned = self._experiment.plan.seconds_per_step
        if planned and outcome.median_step_seconds:
            self._observer.message(pace_line(planned, outcome.median_step_seconds, outcome.final_step, target,
                                             outcome.stopped_by, outcome.schedule_lead))
        return outcome

    def _record_drift_inputs(self) -> None:
        """What the line's images are compared with; a failure warns and training goes on."""
        if self._drift is None:
            return
        try:
            written = self._drift.record_inputs()
        except (UnetError, OSError) as error:
            self._observer.message(f"warning: no drift reference of the training images ({error})")
            return
        if written:
            self._observer.message(f"drift reference: the training images' statistics written to {written}")

    def _record_configuration(self) -> None:
        """Resuming into a model_dir trained with other weight shapes fails here, in one line,
        rather than in a checkpoint restore; otherwise the configuration is saved there."""
        try:
            saved = self._config_store.saved()
        except UnetError as error:
            self._observer.message(f"warning: cannot compare with the saved configuration ({error})")
            saved = None
        if saved is not None:
            changes = saved.model.weight_differences(self._experiment.model)
            if changes:
                raise ConfigError(
                    f"{self._experiment.run.model_dir}: holds a model of another topology ({'; '.join(changes)}); "
                    "use a new --model_dir or restore the saved params.yaml"
                )
        self._observer.message(f"resolved parameters written to {self._config_store.save(self._experiment)}")


@attrs.frozen
class TrainAndEvaluateOutcome:
    training: TrainOutcome
    evaluations: list[EvaluationResult]  # each checkpoint on the split that chooses checkpoints
    final: FinalScores | None = None  # the chosen checkpoint on the test images, when they are apart
    calibration: CalibrationReport | None = None  # runconfig.calibrate: the decision chosen before the test


def learning_point(result: EvaluationResult) -> LearningPoint:
    return LearningPoint(result.step, result.scores.defect_Dice, result.scores.image_AUROC,
                         result.balance.true_fraction,
                         tuple((name, None if balance is not None and not balance.has_defects else scores.defect_Dice)
                               for (_, name, scores), balance in
                               zip(result.per_class, result.class_balance or (None,) * len(result.per_class))),
                         result.num_images)


def collapsed_classes(result: EvaluationResult) -> set[str]:
    """The names of the classes (of several) that an evaluation found collapsed to background; a
    one-class model's collapse is the model's (evaluation_result.collapse_warning)."""
    if len(result.per_class) < 2:
        return set()
    return {name for (_, name, _), balance in zip(result.per_class, result.class_balance) if balance.collapsed}


class TrainAndEvaluateUseCase:
    """The reference's train_and_eval: evaluate each checkpoint as it is written, and the
    newest one at the end when training wrote none (nothing left to train). Each evaluation
    prints a learning line, and a warning with `advice` while the scores stay at chance. With a
    validation part, the chosen checkpoint is then scored on the test images; with `calibrate`
    (runconfig.calibrate), its decision is first calibrated on the validation part, so the test
    scores and every later command use it."""

    def __init__(self, train: TrainUseCase, evaluate: EvaluateUseCase, checkpoints: Checkpoints,
                 observer: TrainingObserver | None = None, advice: Sequence[str] = (),
                 final: FinalEvaluationUseCase | None = None, calibrate: CalibrateUseCase | None = None,
                 clock: Callable[[], float] = time.perf_counter, drift: DriftRecorder | None = None) -> None:
        self._drift = drift  # the held-out parts' scores, the drift reference's other half
        self._clock = clock
        self._warned: set[str] = set()  # the collapsed classes already named
        self._train = train
        self._evaluate = evaluate
        self._checkpoints = checkpoints
        self._observer = observer
        self._advice = tuple(advice)
        self._final = final
        self._calibrate = calibrate

    def execute(self) -> TrainAndEvaluateOutcome:
        results: list[EvaluationResult] = []

        seconds: list[float] = []

        def evaluate(path: str | None) -> None:
            tick = self._clock()
            results.append(self._evaluate.execute(path, split="curve"))
            # The run's end draws the last evaluation's pictures, or (runconfig.keep_best) the
            # kept checkpoint's: only those two keep their inputs.
            kept = max((i for i, result in enumerate(results) if result.best is not None), default=None)
            for index in range(len(results) - 1):
                if index != kept and results[index].pictures is not None:
                    results[index] = attrs.evolve(results[index], pictures=None)
            seconds.append(self._clock() - tick)
            self._report_learning(results, seconds[-1])

        outcome = self._train.execute(after_checkpoint=lambda ref: evaluate(ref.path))
        if not results or results[-1].step != outcome.final_step:
            refs = self._checkpoints.list()
            evaluate(refs[-1].path if refs else None)
        calibration = self._calibrated() if self._final is not None and self._evaluate.has_test_split else None
        # A calibrated decision scores the validation part anew (its block then shows the decision
        # in force), and so does a learning curve that scored a sample of it.
        fresh = calibration is not None or self._evaluate.curve_is_sample
        final = (self._final.execute(chosen=True, known=() if fresh else results)
                 if self._final is not None else None)
        if final is None:  # no test split: the last evaluation's pictures are the run's
            results[-1] = self._evaluate.drawn(results[-1])
        self._record_drift_scores(final.validation if final is not None else self._kept(results))
        return TrainAndEvaluateOutcome(outcome, results, final, calibration)

    def _kept(self, results: list[EvaluationResult]) -> EvaluationResult:
        """The evaluation of the checkpoint training leaves (runconfig.keep_best's, else the last)."""
        return next((result for result in reversed(results) if result.best is not None), results[-1])

    def _record_drift_scores(self, held_out: EvaluationResult) -> None:
        """The kept checkpoint's parts of the validation part: their scores and verdicts at the
        decision in force. Without a validation part, none: the evaluation images are the test's."""
        if self._drift is None:
            return
        if not self._evaluate.has_test_split:
            self._message(NO_HELD_OUT)
            return
        source = (f"{held_out.num_images} validation images at step {held_out.step}, "
                  f"{held_out.decision or 'the decision in force'}")
        self._message(self._drift.scores_line(held_out.part_scores, held_out.part_flagged, source, "validation"))

    def _calibrated(self) -> CalibrationReport | None:
        """The chosen checkpoint's decision calibrated on the validation part, or None (not asked
        for, or refused in one line: the test images are then scored with the decision before)."""
        if self._calibrate is None:
            return None
        try:
            report = self._calibrate.execute()  # at runconfig.image_recall
        except UnetError as error:
            self._message(f"warning: calibration on the validation part failed ({error}); the test images are "
                          "scored with the decision in force before")
            return None
        self._message(f"calibrated the decision on {report.num_images} validation images: {report.summary()}; "
                      f"wrote {report.written}")
        return report

    def _message(self, text: str) -> None:
        if self._observer is not None and text:
            self._observer.message(text)

    def _report_learning(self, results: list[EvaluationResult], seconds: float | None = None) -> None:
        if self._observer is None:
            return
        points = [learning_point(result) for result in results]
        points[-1] = attrs.evolve(points[-1], seconds=seconds)
        split = results[-1].split if results[-1].split != "eval" else "evaluation"
        self._observer.message(learning_line(split, points[-1], points[-2] if len(points) > 1 else None))
        reason = not_learning(points)
        if reason:
            advice = f"; most likely to help here: {' and '.join(self._advice)}" if self._advice else ""
            self._observer.message(f"warning: the model is not learning yet ({reason}){advice}")
        # a class collapsed in the last STAYS evaluations is named once, with what to try
        stuck = set.intersection(*(collapsed_classes(result) for result in results[-STAYS:])) \
            if len(results) >= STAYS else set()
        for name in sorted(stuck - self._warned):
            self._warned.add(name)
            for text in results[-1].warnings:
                if text.startswith(f"class {name!r}"):
                    self._observer.message(f"warning: {text}")
