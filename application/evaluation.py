"""Use cases: eval (one checkpoint), the final test scoring, and eval_all (every kept
checkpoint, in step order)."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence

import attrs

from unet_defects.application.evaluation_pictures import picture_inputs
from unet_defects.application.evaluation_result import EvaluationResult, collapse_warnings
from unet_defects.application.evaluation_scoring import EvaluationScoring
from unet_defects.application.evaluation_tally import ClassScoring, EvaluationTally
from unet_defects.application.options import InferenceOptions
from unet_defects.application.ports import BestKeeper, Checkpoints, Components, PictureWriter, ResultStore
from unet_defects.application.prediction import describe_decisions
from unet_defects.application.samples import SampleKeeper
from unet_defects.application.session import NEWEST, InferenceSession, SessionOpener
from unet_defects.application.tracking import NO_TRACKING, RunTracker, evaluation_metrics
from unet_defects.application.values import BestCheckpoint, CheckpointRef, ImageEvaluation, built_once
from unet_defects.application.worst_images import WorstImages
from unet_defects.domain.advice import class_collapse_advice
from unet_defects.domain.defects import DefectCounts
from unet_defects.domain.errors import UnetError
from unet_defects.domain.experiment import EvalSpec
from unet_defects.domain.gate import Gate, side_by_side
from unet_defects.domain.invocation import Invocation
from unet_defects.domain.masks import DecisionRule
from unet_defects.domain.metrics import ConfusionMatrix, DefectBalance, Scores, defect_dice
from unet_defects.domain.part_score import score_name
from unet_defects.domain.training import RunSpec

log = logging.getLogger("unet")


class EvaluateUseCase:
    """Score one checkpoint on the evaluation data and store the result."""

    def __init__(
        self,
        opener: SessionOpener,
        scoring: EvaluationScoring,  # where the images come from and how each is scored
        checkpoints: Checkpoints,
        artifacts: ResultStore,
        evaluation: EvalSpec,
        run: RunSpec,
        invocation: Invocation,
        best: BestKeeper | None = None,
        sample_reservoir: int = 16,
        components: Components | None = None,  # defect-level counts (scored in numpy)
        options: InferenceOptions = InferenceOptions(),
        validation: bool = False,  # the reader holds a validation part out of the training images
        classes: tuple[tuple[int, str], ...] = (),  # (class id, name) per model channel
        # What a collapsed class of several is told to try (domain.advice.class_advice_for);
        # None: the advice for the config's defaults and this run.
        class_advice: Sequence[str] | None = None,
        curve_is_sample: bool = False,  # the "curve" split is a sample of the validation part
        tracker: RunTracker = NO_TRACKING,  # every evaluation's scores, at its step
        pictures: PictureWriter | None = None,  # the curves, the confusion matrices, the worst images
    ) -> None:
        self._pictures = pictures
        self.curve_is_sample = curve_is_sample
        self._tracker = tracker
        self._classes = classes
        self._class_advice = tuple(class_collapse_advice(time_budget=run.time_budget) if class_advice is None
                                   else class_advice)
        self._opener = opener
        self._scoring = scoring
        self._checkpoints = checkpoints
        self._best = best
        self._artifacts = artifacts
        self._evaluation = evaluation
        self._run = run
        self._invocation = invocation
        self._sample_reservoir = sample_reservoir
        self._components = components
        self._options = options
        self._validation = validation

    @property
    def has_test_split(self) -> bool:
        """Whether test images are scored apart from the split that chooses checkpoints."""
        return self._validation

    def execute(self, checkpoint: str | None = None, split: str = "eval", final: bool = False) -> EvaluationResult:
        """The given checkpoint, else --checkpoint_path, else the newest readable one; or, with
        --model, that export run by --engine with its manifest's decision. `split`: "eval" (the
        validation part when there is one, else the evaluation images), "curve" (what the
        evaluations during training score: the validation part, or its train_input.validation_sample)
        or "test". `final`: the run's closing scores, at the decision in force (tracked apart from
        the evaluations during training, whose step they may repeat)."""
        if split not in ("eval", "curve", "test"):
            raise ValueError(f"unknown split {split!r}")
        named = "test" if split == "test" else ("validation" if self._validation else "eval")
        session = self._opener.open(self._options, NEWEST, checkpoint or self._invocation.checkpoint_path)
        decision = session.decision
        rules = (self._evaluation.rule if decision.origin == "the config" else DecisionRule(threshold=decision.threshold),
                 *self._evaluation.threshold_rules())
        worst = WorstImages()
        tally, defects, keeper = self._tallied(self._scoring.images(session, rules, split), len(rules), worst)
        result = self._result(session, rules, tally, defects, keeper, named)
        result = attrs.evolve(result, pictures=picture_inputs(result, tally, session.decisions, worst,
                                                             self._scoring.names(split)))
        if split != "test":  # only the split that chooses checkpoints may keep one
            result = attrs.evolve(result, best=self._keep_if_best(CheckpointRef(session.step, session.path), result.scores))
        written = self._artifacts.write_evaluation(result)
        if split != "curve":  # the learning curve's evaluations draw none: the last one is drawn by draw()
            written += self.draw(result)
        if self._tracker.active:
            self._tracker.log_metrics(result.step, evaluation_metrics(result, final))
        return attrs.evolve(result, written=tuple(written))

    def draw(self, result: EvaluationResult) -> list[str]:
        """The evaluation's pictures, in its split's folder (none without a picture writer). They
        come second to the scores: a picture that cannot be written is a warning, not a failure."""
        if self._pictures is None or result.pictures is None:
            return []
        try:
            return self._pictures.write(result.pictures)
        except (UnetError, OSError) as error:
            log.warning("the %s pictures were not drawn: %s", result.split, error)
            return []

    def drawn(self, result: EvaluationResult) -> EvaluationResult:
        """The result with its pictures drawn, among the files it wrote."""
        return attrs.evolve(result, written=(*result.written, *self.draw(result)))

    def _tallied(self, images: Iterable[ImageEvaluation], rules: int,
                 worst: WorstImages) -> tuple[EvaluationTally, DefectCounts, SampleKeeper]:
        """The images' counts, their defects matched (scored in numpy), the sample pictures and
        the worst images kept."""
        tally, defects, keeper = EvaluationTally(rules), DefectCounts(), SampleKeeper(self._sample_reservoir)
        for index, image in enumerate(images):
            tally.add(image)
            picture = built_once(image.picture)  # one build for the match, the samples and the worst
            if self._components is not None:  # defect-level counts, on the picture's cut to the image
                cut = picture()
                defects = defects + self._components.match(cut.truth, cut.prediction)
            counts = image.counts[0]
            dice = defect_dice(counts)
            keeper.offer(index, dice, picture)
            worst.offer(index, dice, counts.fp + counts.fn, image.part_score, counts.tp + counts.fn > 0,
                        image.defective(0), picture)
        return tally, defects, keeper

    def _result(self, session: InferenceSession, rules: tuple[DecisionRule, ...], tally: EvaluationTally,
                defects: DefectCounts, keeper: SampleKeeper, split: str) -> EvaluationResult:
        per_image = tally.counts[0]
        named = self._classes or tuple((k + 1 if d.class_id is None else d.class_id, d.name)
                                       for k, d in enumerate(session.decisions))
        classes = ClassScoring(named, tally)
        per_class = classes.per_class(0)
        by_threshold = tuple((rule.threshold, classes.mean(index)) for index, rule in enumerate(rules[1:], start=1))
        balance = DefectBalance.of(sum(per_image, ConfusionMatrix()))
        class_balance = classes.balances(0)  # each class's shares, once: the mean and the flags read them
        return EvaluationResult(
            step=session.step,
            scores=classes.mean(0, per_class, class_balance),
            per_class=per_class,
            class_balance=class_balance,
            kaggle_dice=classes.kaggle_dice(),
            num_images=len(per_image),
            per_image_dice=tuple(defect_dice(cm) for cm in per_image),
            samples=keeper.chosen(),
            threshold_scores=by_threshold,
            checkpoint=session.path,
            balance=balance,
            warnings=collapse_warnings(balance, per_class, class_balance, self._class_advice),
            decision=describe_decisions(session) if session.decision.origin != "the config" else self._describe_rule(session),
            tta=session.tta,
            split=split,
            defects=defects if self._components is not None else None,
            gate=self._gate_scores(session, tally.gate_rows, tally.class_peaks) if session.has_classifier else None,
            score_name=score_name(session.has_classifier),
            peak_auroc=tally.peak_auroc() if session.has_classifier else None,
            operating_point=tally.operating_point(),
            part_scores=tuple(tally.scores),
            part_truth=tuple(tally.defective()),
            part_flagged=tuple(tally.flagged[0]),
        )

    def _gate_scores(self, session: InferenceSession, rows: list[tuple], peaks: list[tuple]) -> dict | None:
        """The segmentation rule and the gate side by side, per class (by id with several)."""
        if not rows or not all(rows):
            return None
        blocks = [side_by_side([image[k] for image in rows], [image[k] for image in peaks], decision.gate or Gate())
                  for k, decision in enumerate(session.decisions)]
        if not session.classes:
            return blocks[0]
        return {str(class_id): block for (class_id, _), block in zip(session.classes, blocks)}

    def _describe_rule(self, session: InferenceSession) -> str:
        rule = self._evaluation.rule
        gate = f", {(session.decision.gate or Gate()).describe()}" if session.gated else ""
        return f"{rule.space} threshold {rule.threshold:g}{gate} from the config"

    def _keep_if_best(self, restored: CheckpointRef, scores: Scores) -> BestCheckpoint | None:
        """With runconfig.keep_best, a checkpoint of this model_dir that beats the kept one is kept."""
        name = self._run.keep_best
        if not name or self._best is None or restored not in self._checkpoints.list():
            return None
        value = getattr(scores, name)
        if value is None:  # image_AUROC with one kind of image only
            return None
        current = self._best.best()
        if current is not None and value <= current.value:
            return None
        return self._best.keep(restored, name, value)


@attrs.frozen
class FinalScores:
    """One checkpoint scored on the validation part and on the test images."""

    validation: EvaluationResult
    test: EvaluationResult
    written: str = ""


class FinalEvaluationUseCase:
    """The test images, scored once at the end (never to choose a checkpoint): the best kept
    checkpoint (or the newest) when `chosen`, else the one evaluation would take; results.json
    then holds the test's scores at its top and both splits' in their blocks."""

    def __init__(self, evaluate: EvaluateUseCase, best: BestKeeper | None, artifacts: ResultStore) -> None:
        self._evaluate = evaluate
        self._best = best
        self._artifacts = artifacts

    def execute(self, chosen: bool = False, known: list[EvaluationResult] | tuple = ()) -> FinalScores | None:
        if not self._evaluate.has_test_split:
            return None
        best = self._best.best() if (chosen and self._best is not None) else None
        checkpoint = best.checkpoint.path if best is not None else None
        step = best.checkpoint.step if best is not None else None
        validation = next((r for r in reversed(list(known)) if step is None or r.step == step), None)
        if validation is None or (step is None and not chosen):
            validation = self._evaluate.execute(checkpoint, final=True)
        else:  # a learning-curve evaluation, which drew no pictures
            validation = self._evaluate.drawn(validation)
        test = self._evaluate.execute(checkpoint or validation.checkpoint, split="test", final=True)
        return FinalScores(validation, test, self._artifacts.write_final(validation, test))


class EvaluateSplitsUseCase:
    """`--mode eval`: the checkpoint on the evaluation images; with a validation part, on it and
    on the test images, written as the run's results."""

    def __init__(self, evaluate: EvaluateUseCase, final: FinalEvaluationUseCase) -> None:
        self._evaluate = evaluate
        self._final = final

    def execute(self) -> list[EvaluationResult]:
        scores = self._final.execute()
        return [scores.validation, scores.test] if scores is not None else [self._evaluate.execute()]


class EvaluateAllUseCase:
    """Evaluate every kept checkpoint, oldest first."""

    def __init__(self, evaluate: EvaluateUseCase, checkpoints: Checkpoints) -> None:
        self._evaluate = evaluate
        self._checkpoints = checkpoints

    def execute(self) -> list[EvaluationResult]:
        return [self._evaluate.execute(ref.path) for ref in self._checkpoints.list()]
