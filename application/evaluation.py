"""Use cases: eval (one checkpoint) and eval_all (every kept checkpoint, in step order)."""

from __future__ import annotations

from collections.abc import Iterator

import attrs

from unet_defects.application.evaluation_tally import ClassScoring, EvaluationTally
from unet_defects.application.line_maps import LineMaps, evaluation_maps
from unet_defects.application.map_scoring import scored_map
from unet_defects.application.options import InferenceOptions
from unet_defects.application.ports import ArtifactStore, BestKeeper, Checkpoints, Components, DatasetReader, Evaluator
from unet_defects.application.prediction import describe_decisions
from unet_defects.application.samples import SampleKeeper
from unet_defects.application.session import NEWEST, InferenceSession, SessionOpener
from unet_defects.application.values import BestCheckpoint, CheckpointRef, ImageEvaluation, SamplePicture
from unet_defects.domain.defects import SIZE_BOUNDS_TEXT, DefectCounts
from unet_defects.domain.experiment import EvalSpec
from unet_defects.domain.gate import Gate, side_by_side
from unet_defects.domain.invocation import Invocation
from unet_defects.domain.masks import DecisionRule
from unet_defects.domain.metrics import ConfusionMatrix, DefectBalance, Scores, defect_dice
from unet_defects.domain.operating_point import OperatingPoint
from unet_defects.domain.part_score import PEAK, score_name
from unet_defects.domain.training import RunSpec


@attrs.frozen
class EvaluationResult:
    step: int
    scores: Scores
    num_images: int
    per_image_dice: tuple[float, ...]
    samples: tuple[SamplePicture, ...] = ()
    written: tuple[str, ...] = ()
    # (probability threshold, scores) for each of model.eval_thresholds.
    threshold_scores: tuple[tuple[float, Scores], ...] = ()
    checkpoint: str = ""  # the checkpoint scored
    balance: DefectBalance = DefectBalance(0.0, 0.0)
    warnings: tuple[str, ...] = ()
    best: BestCheckpoint | None = None  # the best checkpoint kept (runconfig.keep_best), when this one became it
    decision: str = ""  # the pixel decision scored, in words (threshold, min_area, where from)
    tta: str = "none"
    # eval: the evaluation images (no validation part); validation or test: that part.
    split: str = "eval"
    defects: DefectCounts | None = None  # defect-level counts, when scored in numpy
    # Each defect class's scores ((class id, name, scores), in channel order; `scores` is then
    # their mean) and the mean Dice over (image, class) pairs.
    per_class: tuple[tuple[int, str, Scores], ...] = ()
    kaggle_dice: float | None = None
    # With a classifier head: domain.gate.side_by_side, of the one class, or by class id.
    gate: dict | None = None
    score_name: str = PEAK  # what image_AUROC ranks parts by (domain.part_score)
    peak_auroc: float | None = None  # with a head: image_AUROC by the largest pixel probability, beside it
    operating_point: OperatingPoint | None = None  # the part verdicts (first rule) and the ranking

    def as_dict(self) -> dict:
        result = {**self.scores.as_dict(), "image_AUROC_score": self.score_name, "global_step": self.step,
                  "num_images": self.num_images, "checkpoint": self.checkpoint,
                  "true_defect_fraction": self.balance.true_fraction,
                  "predicted_defect_fraction": self.balance.predicted_fraction,
                  "collapsed": self.balance.collapsed, "decision": self.decision, "tta": self.tta,
                  "split": self.split}
        if self.defects is not None:
            result.update(self.defects.scores(), defect_sizes=SIZE_BOUNDS_TEXT)
        if self.threshold_scores:
            result["thresholds"] = {f"{t:g}": scores.as_dict() for t, scores in self.threshold_scores}
        if self.per_class:
            result["per_class"] = {str(k): {"name": name, **scores.as_dict()} for k, name, scores in self.per_class}
            result["kaggle_dice"] = self.kaggle_dice
        if self.gate is not None:
            result["gate"] = self.gate
        if self.score_name != PEAK:
            result[f"image_AUROC_{PEAK}"] = self.peak_auroc
        if self.operating_point is not None:
            result["operating_point"] = self.operating_point.as_dict()
            if self.scores.image_AUROC is None:  # say why there is no number
                result["image_AUROC_undefined"] = self.operating_point.why_no_ranking()
        return result


def collapse_warning(balance: DefectBalance) -> str:
    return (f"the model predicts almost no defect pixels ({100 * balance.predicted_fraction:.3f} % of the pixels "
            f"against {100 * balance.true_fraction:.3f} % in the truth): it has collapsed to background. Most likely "
            "to help: model.loss: bce_dice, train_input.image_fit: crop with train_input.defect_sampling: 0.5, "
            "and model.normalization: batch (configs/params_folder.yaml has all three)")


class EvaluateUseCase:
    """Score one checkpoint on the evaluation data and store the result."""

    def __init__(
        self,
        opener: SessionOpener,
        reader: DatasetReader,
        checkpoints: Checkpoints,
        evaluator: Evaluator,
        artifacts: ArtifactStore,
        evaluation: EvalSpec,
        run: RunSpec,
        invocation: Invocation,
        best: BestKeeper | None = None,
        sample_reservoir: int = 16,
        components: Components | None = None,
        options: InferenceOptions = InferenceOptions(),
        validation: bool = False,  # the reader holds a validation part out of the training images
        classes: tuple[tuple[int, str], ...] = (),  # (class id, name) per model channel
        line_maps: LineMaps | None = None,  # maps as predict makes them (the native geometry)
    ) -> None:
        self._classes = classes
        self._line_maps = line_maps
        self._opener = opener
        self._reader = reader
        self._checkpoints = checkpoints
        self._best = best
        self._evaluator = evaluator
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

    def execute(self, checkpoint: str | None = None, split: str = "eval") -> EvaluationResult:
        """The given checkpoint, else --checkpoint_path, else the newest readable one; or, with
        --model, that export run by --engine with its manifest's decision. `split`: "eval" (the
        validation part when there is one, else the evaluation images) or "test"."""
        if split not in ("eval", "test"):
            raise ValueError(f"unknown split {split!r}")
        named = "test" if split == "test" else ("validation" if self._validation else "eval")
        session = self._opener.open(self._options, NEWEST, checkpoint or self._invocation.checkpoint_path)
        decision = session.decision
        rules = (self._evaluation.rule if decision.origin == "the config" else DecisionRule(threshold=decision.threshold),
                 *self._evaluation.threshold_rules())
        if self._scored_in_numpy(session):
            images = self._post_processed(rules, split, session)
        else:
            images = self._evaluator.evaluate(session.model, self._reader.evaluation_stream(split), rules,
                                              self._evaluation.eval_ignore_classes, self._run.eval_batches())
        tally = EvaluationTally(len(rules))
        defects = DefectCounts()
        keeper = SampleKeeper(self._sample_reservoir)
        for index, image in enumerate(images):
            tally.add(image)
            if self._components is not None:  # defect-level counts, on the picture's cut to the image
                picture = image.picture()
                defects = defects + self._components.match(picture.truth, picture.prediction)
            keeper.offer(index, defect_dice(image.counts[0]), image.picture)
        per_image = tally.counts[0]
        classes = ClassScoring(self._classes, tally) if self._classes and tally.several() else None
        by_threshold = tuple((rule.threshold, classes.mean(index) if classes else tally.rule_scores(index))
                             for index, rule in enumerate(rules[1:], start=1))
        balance = DefectBalance.of(sum(per_image, ConfusionMatrix()))
        result = EvaluationResult(
            step=session.step,
            scores=classes.mean(0) if classes else tally.rule_scores(0),
            per_class=classes.per_class(0) if classes else (),
            kaggle_dice=classes.kaggle_dice() if classes else None,
            num_images=len(per_image),
            per_image_dice=tuple(defect_dice(cm) for cm in per_image),
            samples=keeper.chosen(),
            threshold_scores=by_threshold,
            checkpoint=session.path,
            balance=balance,
            warnings=(collapse_warning(balance),) if balance.collapsed else (),
            decision=(describe_decisions(session) if session.classes else decision.describe())
            if decision.origin != "the config" else self._describe_rule(session),
            tta=session.tta,
            split=named,
            defects=defects if self._components is not None else None,
            gate=self._gate_scores(session, tally.gate_rows, tally.class_peaks) if session.has_classifier else None,
            score_name=score_name(session.has_classifier),
            peak_auroc=tally.peak_auroc() if session.has_classifier else None,
            operating_point=tally.operating_point(),
        )
        if split == "eval":  # only the split that chooses checkpoints may keep one
            result = attrs.evolve(result, best=self._keep_if_best(CheckpointRef(session.step, session.path), result.scores))
        written = self._artifacts.write_evaluation(result)
        return attrs.evolve(result, written=tuple(written))

    def _scored_in_numpy(self, session: InferenceSession) -> bool:
        """Whether each image is scored in numpy (as predict decides) rather than in the graph:
        in the native geometry, whose maps are predict's (tiles and all); with ignored labels
        (the defect records see the same counted pixels); with a decision of its own per class,
        a classifier head, an export, min_area or TTA."""
        own = any(d.origin != "the config" or d.min_area for d in session.class_decisions) and bool(session.classes)
        native = self._line_maps is not None and session.geometry(self._options).mode == "native"
        return (native or own or session.has_classifier or session.is_export or session.decision.min_area > 0
                or session.tta != "none" or bool(self._evaluation.eval_ignore_classes))

    def _gate_scores(self, session: InferenceSession, rows: list[tuple], peaks: list[tuple]) -> dict | None:
        """The segmentation rule and the gate side by side, per class (by id with several)."""
        if not rows or not all(rows):
            return None
        blocks = [side_by_side([image[k] for image in rows], [image[k] for image in peaks], decision.gate or Gate())
                  for k, decision in enumerate(session.class_decisions)]
        if not session.classes:
            return blocks[0]
        return {str(class_id): block for (class_id, _), block in zip(session.classes, blocks)}

    def _describe_rule(self, session: InferenceSession) -> str:
        rule = self._evaluation.rule
        gate = f", {(session.decision.gate or Gate()).describe()}" if session.gated else ""
        return f"{rule.space} threshold {rule.threshold:g}{gate} from the config"

    def _post_processed(self, rules: tuple[DecisionRule, ...], split: str,
                        session: InferenceSession) -> Iterator[ImageEvaluation]:
        """Each image scored in numpy: probabilities (averaged over the TTA copies), then each
        rule's threshold and the removal of small components, and its defects matched."""
        stream, batches, ignored = self._reader.evaluation_stream(split), self._run.eval_batches(), \
            self._evaluation.eval_ignore_classes
        maps = evaluation_maps(self._line_maps, self._evaluator, session, self._options, stream, batches, ignored)
        for index, found in enumerate(maps):
            yield scored_map(index, found, rules, session.class_decisions, self._components)

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

    def __init__(self, evaluate: EvaluateUseCase, best: BestKeeper | None, artifacts: ArtifactStore) -> None:
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
            validation = self._evaluate.execute(checkpoint)
        test = self._evaluate.execute(checkpoint or validation.checkpoint, split="test")
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
