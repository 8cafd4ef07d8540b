"""The learning-rate schedule that follows the time budget (optimizer.schedule_follows:
time_budget), trained for real against a fake clock that the steps move."""

import pytest

from tests.conftest import tiny_params
from unet_defects.container import build_container


class FakeClock:
    """A fake clock for the trainer, moved by the steps trained: `seconds_per_step` a step, and
    the first call `tracing` seconds more (tracing and compiling the step)."""

    def __init__(self) -> None:
        self.now, self.seconds_per_step, self.tracing = 0.0, 2.5, 0.0

    def __call__(self) -> float:
        return self.now

    def reached(self, step: int) -> None:
        self.now = self.tracing + self.seconds_per_step * step


def test_a_run_slower_than_planned_still_ends_with_its_schedule_annealed(tiny_dagm, tmp_path):
    from dependency_injector import providers

    from unet_defects.adapters.tensorboard_events import read_scalars
    from unet_defects.adapters.terminal import TerminalObserver
    from unet_defects.domain.schedules import LearningRateSchedule

    clock = FakeClock()

    class Stepping(TerminalObserver):  # the clock moves with the steps trained
        def progressed(self, step, loss, images_per_second, log_line):
            clock.reached(step)
            super().progressed(step, loss, images_per_second, log_line)

    cosine = {"scheduler": "Cosine", "initial_learning_rate": 1e-2, "decay_steps": 40, "alpha": 0.01}

    def trained(follows: str, seconds_per_step: float, budget: str):
        params = tiny_params(tiny_dagm, tmp_path / f"{follows}-{seconds_per_step}", max_steps=40,
                             save_checkpoints_steps=40, time_budget=budget)
        params["optimizer"] = {"learning_rate": cosine, "schedule_follows": follows}
        container = build_container(params)
        clock.now, clock.seconds_per_step, clock.tracing = 0.0, seconds_per_step, 30.0
        container.trainer.override(providers.Object(make_trainer_with(container, clock)))
        container.observer.override(providers.Object(Stepping()))
        return container.train().execute()

    schedule = LearningRateSchedule.parse(cosine)
    # 40 steps planned at 2.5 s after 30 s of tracing: 130 s. On pace, the first call's tracing
    # does not count as a slow step: the schedule runs by the steps.
    on_pace = trained("time_budget", 2.5, "140s")
    assert (on_pace.stopped_by, on_pace.final_step, on_pace.schedule_lead) == ("max_steps", 40, 0.0)
    rates = read_scalars(tmp_path / "time_budget-2.5")["learning_rate"]
    assert rates and all(rate == pytest.approx(schedule.rate(step)) for step, rate in rates)
    # At 5 s a step, the budget's 100 s after tracing have room for 20 of the 40 steps.
    by_steps, by_budget = trained("steps", 5.0, "130s"), trained("time_budget", 5.0, "130s")
    assert by_steps.stopped_by == by_budget.stopped_by == "time_budget"
    assert by_steps.final_step == by_budget.final_step == 20
    assert schedule.rate(by_steps.final_step + by_steps.schedule_lead) > 0.4 * 1e-2  # stopped with the rate still up
    # Following the budget, the schedule ran 20 steps ahead once the pace was measured: the last
    # step trained at the schedule's last rate, 1 % of its peak.
    assert by_budget.schedule_lead == 20.0
    assert schedule.rate(by_budget.final_step + by_budget.schedule_lead) == pytest.approx(1e-4)


def make_trainer_with(container, clock):
    from unet_defects.adapters.tensorflow.trainer import TensorFlowTrainer

    experiment = container.experiment()
    return TensorFlowTrainer(experiment.run, experiment.optimizer, container.device_plan(), experiment.loss,
                             batch_size=experiment.data.train_batch_size, clock=clock)
