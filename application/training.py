"""Use cases: train, and train_and_eval (train, evaluating after every checkpoint)."""

from __future__ import annotations

from collections.abc import Callable

from application.evaluation import EvaluateUseCase, EvaluationResult
from application.ports import DatasetReader, Executor, ModelBuilder, TrainingObserver, TrainOutcome
from domain.topology import UNetSpec
from domain.training import RunSpec


class TrainUseCase:
    """Train from the latest checkpoint in model_dir to the step the run asks for."""

    def __init__(
        self,
        builder: ModelBuilder,
        reader: DatasetReader,
        executor: Executor,
        observer: TrainingObserver,
        topology: UNetSpec,
        run: RunSpec,
    ) -> None:
        self._builder = builder
        self._reader = reader
        self._executor = executor
        self._observer = observer
        self._topology = topology
        self._run = run

    def execute(self, after_checkpoint: Callable[[int], None] | None = None) -> TrainOutcome:
        start = self._executor.latest_step()
        target = self._run.target_step(start)
        if target <= start:
            self._observer.message(
                f"model_dir already holds step {start} >= max_steps {self._run.max_steps}: nothing to train "
                "(raise --max_steps or pass --steps to train more)"
            )
            return TrainOutcome(start_step=start, final_step=start)
        # The model first: building it seeds the framework (tf_random_seed), which the data
        # pipeline's shuffling then follows, so the first run in a process repeats like the rest.
        with self._executor.scope():  # distribution strategies own the variables made here
            model = self._builder.build(self._topology)
        stream = self._reader.training_stream()
        return self._executor.train(model, stream, target, self._observer, after_checkpoint)


class TrainAndEvaluateUseCase:
    """The reference's train_and_eval: evaluate after each checkpoint and at the end."""

    def __init__(self, train: TrainUseCase, evaluate: EvaluateUseCase) -> None:
        self._train = train
        self._evaluate = evaluate

    def execute(self) -> tuple[TrainOutcome, list[EvaluationResult]]:
        results: list[EvaluationResult] = []

        def evaluate_checkpoint(step: int) -> None:
            results.append(self._evaluate.execute())

        outcome = self._train.execute(after_checkpoint=evaluate_checkpoint)
        if not results or results[-1].step != outcome.final_step:
            results.append(self._evaluate.execute())
        return outcome, results
