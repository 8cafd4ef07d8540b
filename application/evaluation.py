"""Use cases: eval (one checkpoint) and eval_all (every kept checkpoint, in step order)."""

from __future__ import annotations

import attrs

from application.ports import ArtifactStore, DatasetReader, Executor, ModelBuilder, SamplePicture
from application.samples import SampleKeeper
from domain.experiment import EvalSpec
from domain.metrics import ConfusionMatrix, Scores, defect_dice
from domain.topology import UNetSpec
from domain.training import RunSpec



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

    def as_dict(self) -> dict:
        result = {**self.scores.as_dict(), "global_step": self.step, "num_images": self.num_images}
        if self.threshold_scores:
            result["thresholds"] = {f"{t:g}": scores.as_dict() for t, scores in self.threshold_scores}
        return result


class EvaluateUseCase:
    """Score one checkpoint on the evaluation data and store the result."""

    def __init__(
        self,
        builder: ModelBuilder,
        reader: DatasetReader,
        executor: Executor,
        artifacts: ArtifactStore,
        topology: UNetSpec,
        evaluation: EvalSpec,
        run: RunSpec,
        sample_reservoir: int = 16,
    ) -> None:
        self._builder = builder
        self._reader = reader
        self._executor = executor
        self._artifacts = artifacts
        self._topology = topology
        self._evaluation = evaluation
        self._run = run
        self._sample_reservoir = sample_reservoir
        self._model = None

    def execute(self, checkpoint: str | None = None) -> EvaluationResult:
        if self._model is None:
            self._model = self._builder.build(self._topology)
        self._executor.restore(self._model, checkpoint or self._run.checkpoint_path)
        keeper = SampleKeeper(self._sample_reservoir)
        counts = self._executor.evaluate(
            self._model,
            self._reader.evaluation_stream(),
            self._evaluation.rule,
            self._evaluation.eval_ignore_classes,
            self._run.eval_batches(),
            keeper,
            self._evaluation.threshold_rules(),
        )
        by_threshold = tuple(
            (rule.threshold, Scores.compute(sum(images, ConfusionMatrix()), images))
            for rule, images in zip(self._evaluation.threshold_rules(), counts.extra)
        )
        result = EvaluationResult(
            step=counts.step,
            scores=Scores.compute(counts.total, counts.per_image),
            num_images=counts.num_images,
            per_image_dice=tuple(defect_dice(cm) for cm in counts.per_image),
            samples=keeper.chosen(),
            threshold_scores=by_threshold,
        )
        written = self._artifacts.write_evaluation(result)
        return attrs.evolve(result, written=tuple(written))


class EvaluateAllUseCase:
    """Evaluate every kept checkpoint, oldest first."""

    def __init__(self, evaluate: EvaluateUseCase, executor: Executor) -> None:
        self._evaluate = evaluate
        self._executor = executor

    def execute(self) -> list[EvaluationResult]:
        return [self._evaluate.execute(ref.path) for ref in self._executor.checkpoints()]
