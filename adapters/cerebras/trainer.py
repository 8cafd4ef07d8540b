"""CerebrasTrainer: the Trainer port on a Cerebras system (the Estimator's `train`)."""

from __future__ import annotations

import time

from unet_defects.adapters.cerebras.estimator import EstimatorContract, is_available, vendor
from unet_defects.application.ports import Checkpoints, TrainingJob
from unet_defects.application.values import TrainOutcome
from unet_defects.domain.experiment import ExperimentSpec


class CerebrasTrainer:
    def __init__(self, experiment: ExperimentSpec, checkpoints: Checkpoints, warm_start: str | None = None) -> None:
        self._experiment = experiment
        self._checkpoints = checkpoints
        self._warm_start = warm_start

    @staticmethod
    def name() -> str:
        return "cerebras"

    @staticmethod
    def is_available() -> bool:
        return is_available()

    def contract(self, job: TrainingJob) -> EstimatorContract:
        return EstimatorContract(self._experiment, job.build_model, job.open_stream, self._warm_start)

    def train(self, job: TrainingJob) -> TrainOutcome:
        vendor()  # one line naming the missing stack, before anything is built
        refs = self._checkpoints.list()
        start = refs[-1].step if refs else 0
        job.observer.started(start, job.target_step, job.time_budget)
        began = time.perf_counter()
        contract = self.contract(job)
        contract.estimator().train(input_fn=contract.input_fn, max_steps=job.target_step, use_cs=True)
        outcome = TrainOutcome(start_step=start, final_step=job.target_step, seconds=time.perf_counter() - began)
        job.observer.finished(outcome)
        return outcome
