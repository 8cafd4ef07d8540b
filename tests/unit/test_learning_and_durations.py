"""Durations, the projected end of a run, the learning line and the not-learning rule."""

import pytest

from unet_defects.domain.durations import format_duration, parse_duration, projected_seconds
from unet_defects.domain.errors import ConfigError
from unet_defects.domain.learning import LearningPoint, at_chance, learning_line, not_learning


@pytest.mark.parametrize("text, seconds", [("30m", 1800), ("1h30m", 5400), ("1.5h", 5400), ("90s", 90),
                                           ("45", 45), (120, 120), ("2m30s", 150), (" 10 m ", 600)])
def test_durations_as_people_write_them(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["30 minutes", "m", "", "-5m", "0", True, None, "1h-5m", "5x"])
def test_a_bad_duration_is_a_one_line_error_naming_the_key(text):
    with pytest.raises(ConfigError, match=r"^runconfig.time_budget: "):
        parse_duration(text, "runconfig.time_budget")


@pytest.mark.parametrize("seconds, text", [(1800, "30m"), (3900, "1h05m"), (150, "2m30s"), (45, "45s"),
                                           (3661, "1h01m01s"), (0.4, "0s")])
def test_durations_print_back_short(seconds, text):
    assert format_duration(seconds) == text
    if seconds >= 1:
        assert parse_duration(text) == round(seconds)


def test_the_projected_end_is_the_pace_so_far_or_the_budget_whichever_comes_first():
    assert projected_seconds(10.0, 100, 300) == (40.0, "max_steps")
    assert projected_seconds(10.0, 100, 300, time_budget=25.0) == (25.0, "time_budget")
    assert projected_seconds(10.0, 100, 300, time_budget=60.0) == (40.0, "max_steps")
    assert projected_seconds(3.0, 0, 300)[0] == float("inf")


def test_the_learning_line_shows_both_scores_and_the_change():
    first = LearningPoint(250, 0.1, 0.6, 0.02)
    second = LearningPoint(500, 0.25, 0.55, 0.02)
    assert learning_line("validation", first) == "validation at step 250: defect Dice 0.100, image AUROC 0.600"
    assert learning_line("validation", second, first) == (
        "validation at step 500: defect Dice 0.250 (+0.150), image AUROC 0.550 (-0.050)")
    assert "n/a" in learning_line("test", LearningPoint(1, 0.5, None, 0.1))


def test_chance_is_auroc_near_a_half_or_dice_near_the_defect_share():
    assert at_chance(LearningPoint(1, 0.5, 0.9, 0.02)) == []
    assert len(at_chance(LearningPoint(1, 0.5, 0.52, 0.02))) == 1  # AUROC at chance
    assert len(at_chance(LearningPoint(1, 0.03, 0.9, 0.02))) == 1  # Dice under 2 x 0.02
    assert len(at_chance(LearningPoint(1, 0.03, 0.46, 0.02))) == 2
    assert at_chance(LearningPoint(1, 0.0, None, 0.0)) == []  # nothing to find: no verdict


def test_not_learning_needs_two_evaluations_in_a_row_at_chance():
    chance = LearningPoint(1, 0.02, 0.51, 0.02)
    learning = LearningPoint(2, 0.4, 0.8, 0.02)
    assert not_learning([chance]) is None
    assert "image AUROC 0.510" in not_learning([chance, chance])
    assert not_learning([chance, learning]) is None
    assert not_learning([learning, chance]) is None
    assert not_learning([learning, chance, chance]) is not None
