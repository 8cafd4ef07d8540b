from unet_defects.domain.loss_scaling import DynamicLossScaleRule, LossScaleState


def run(rule, finite_flags):
    state, seen = rule.start(), []
    for finite in finite_flags:
        state = rule.update(state, finite)
        seen.append(state)
    return seen


def test_the_scale_doubles_after_steps_per_increase_clean_steps_and_stays_clamped():
    rule = DynamicLossScaleRule(initial_scale=4.0, steps_per_increase=3, max_scale=16.0)
    scales = [s.scale for s in run(rule, [True] * 10)]
    assert scales == [4, 4, 8, 8, 8, 16, 16, 16, 16, 16]
    assert run(rule, [True] * 3)[-1] == LossScaleState(8.0, 0, 0)


def test_an_overflow_above_the_tolerance_halves_the_scale_and_restarts_the_counts():
    rule = DynamicLossScaleRule(initial_scale=1024.0, steps_per_increase=100, overflow_tolerance=0.25)
    seen = run(rule, [True, True, True, False, True, False])
    # step 4: 1 of 4 overflowed (0.25, not above); step 6: 2 of 6 (0.33 > 0.25) halves.
    assert [(s.scale, s.steps, s.overflows) for s in seen] == [
        (1024, 1, 0), (1024, 2, 0), (1024, 3, 0), (1024, 4, 1), (1024, 5, 1), (512, 0, 0)]


def test_a_first_step_overflow_halves_at_once_and_the_floor_holds():
    rule = DynamicLossScaleRule(initial_scale=1.0, min_scale=0.25)
    assert [s.scale for s in run(rule, [False] * 4)] == [0.5, 0.25, 0.25, 0.25]


def test_some_overflows_below_the_tolerance_still_let_the_scale_grow():
    rule = DynamicLossScaleRule(initial_scale=2.0, steps_per_increase=20, overflow_tolerance=0.05)
    assert run(rule, [False])[0].scale == 1.0  # 1 of 1 overflowed: halved at once
    # 1 of 20 steps overflowed (0.05, not above the tolerance): it still doubles at step 20.
    assert run(rule, [True] * 19 + [False])[-1] == LossScaleState(4.0, 0, 0)
