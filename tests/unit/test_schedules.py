import math

import pytest

from unet_defects.domain.errors import ConfigError
from unet_defects.domain.schedules import LearningRateSchedule


def test_each_scheduler_by_hand():
    exponential = LearningRateSchedule.parse(
        {"scheduler": "Exponential", "initial_learning_rate": 0.1, "decay_steps": 10, "decay_rate": 0.5})
    assert exponential.rate(10) == pytest.approx(0.05) and exponential.rate(5) == pytest.approx(0.1 * 0.5**0.5)
    stairs = LearningRateSchedule.parse({"scheduler": "Exponential", "initial_learning_rate": 0.1,
                                         "decay_steps": 10, "decay_rate": 0.5, "staircase": True})
    assert stairs.rate(19) == pytest.approx(0.05)
    piecewise = LearningRateSchedule.parse({"scheduler": "PiecewiseConstant", "boundaries": [10, 20],
                                            "values": [1.0, 0.5, 0.1]})
    assert [piecewise.rate(s) for s in (0, 10, 11, 20, 21)] == [1.0, 1.0, 0.5, 0.5, 0.1]
    linear = LearningRateSchedule.parse({"scheduler": "Linear", "initial_learning_rate": 1.0,
                                         "end_learning_rate": 0.0, "steps": 4})
    assert [linear.rate(s) for s in (0, 1, 4, 9)] == [1.0, 0.75, 0.0, 0.0]
    polynomial = LearningRateSchedule.parse({"scheduler": "Polynomial", "initial_learning_rate": 1.0,
                                             "end_learning_rate": 0.0, "steps": 4, "power": 2.0})
    assert polynomial.rate(2) == pytest.approx(0.25)
    cosine = LearningRateSchedule.parse({"scheduler": "Cosine", "initial_learning_rate": 2.0, "decay_steps": 10,
                                         "alpha": 0.1})
    assert cosine.rate(5) == pytest.approx(2.0 * (0.9 * 0.5 + 0.1)) and cosine.rate(50) == pytest.approx(0.2)


def test_a_list_runs_schedules_one_after_another_each_from_its_own_step_zero():
    warmup_then_cosine = [
        {"scheduler": "Linear", "initial_learning_rate": 0.0, "end_learning_rate": 1.0, "steps": 10},
        {"scheduler": "Cosine", "initial_learning_rate": 1.0, "decay_steps": 100},
    ]
    schedule = LearningRateSchedule.parse(warmup_then_cosine)
    assert schedule.rate(5) == pytest.approx(0.5)
    assert schedule.rate(10) == pytest.approx(1.0)
    assert schedule.rate(60) == pytest.approx(0.5 * (1 + math.cos(math.pi * 0.5)))
    shared = LearningRateSchedule.parse(warmup_then_cosine, reset_steps=False)
    assert shared.rate(60) == pytest.approx(0.5 * (1 + math.cos(math.pi * 0.6)))


@pytest.mark.parametrize("value, message", [
    ({"scheduler": "Cosine", "initial_learning_rate": 1.0}, r"learning_rate.decay_steps: required by the Cosine"),
    ({"scheduler": "Step"}, r"learning_rate.scheduler: expected one of"),
    ([{"scheduler": "Constant", "learning_rate": 0.1}, {"scheduler": "Constant", "learning_rate": 0.2}],
     r"learning_rate\[0\].steps: every schedule but the last needs steps"),
    ({"scheduler": "PiecewiseConstant", "boundaries": [5], "values": [1.0]}, r"values: needs one more value"),
    ({"scheduler": "Linear", "initial_learning_rate": 1, "end_learning_rate": 0, "steps": 4, "decay": 1},
     r"learning_rate.decay: unknown key for Linear"),
    (-1.0, r"optimizer.learning_rate: must be > 0"),
])
def test_bad_schedules_name_their_key(value, message):
    with pytest.raises(ConfigError, match=message):
        LearningRateSchedule.parse(value)


def test_a_schedule_that_follows_the_budget_runs_ahead_only_when_the_budget_ends_training_first():
    from unet_defects.domain.schedules import budget_position

    assert budget_position(100, 1000, seconds_left=900.0, seconds_per_step=0.5) == 100  # time for 1,800 more
    # 300 s left at 1 s a step: 300 more steps, so step 400 trains at the schedule's step 700 and the last at 1,000.
    assert budget_position(400, 1000, seconds_left=300.0, seconds_per_step=1.0) == 700
    assert budget_position(999, 1000, seconds_left=-5.0, seconds_per_step=1.0) == 1000  # past the deadline
    assert budget_position(10, 1000, seconds_left=50.0, seconds_per_step=0.0) == 10  # no pace yet


def test_the_budget_pace_skips_the_first_call_and_never_moves_the_schedule_back():
    from unet_defects.domain.schedules import BudgetPace

    pace = BudgetPace(start=0, target=40, deadline=130.0)
    assert pace.lead(32.5, 1) is None  # the first call traced: the pace counts from its end
    assert pace.lead(35.0, 2) is None  # one step is under a twentieth of the run
    # 3.75 s a step since the first call: 90 s left fit 24 steps, so the schedule stands at 40 - 24 = 16
    assert pace.lead(40.0, 3) == pytest.approx(13.0)
    assert pace.lead(41.0, 10) == pytest.approx(6.0)  # faster now: the schedule stays at 16
