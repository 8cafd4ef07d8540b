import pytest

from domain.errors import ConfigError
from domain.training import RunSpec, is_due, next_boundary


def test_next_boundary_stops_at_every_period_and_the_target():
    assert next_boundary(0, 1000, (500, 100, 100)) == 100
    assert next_boundary(100, 1000, (500, 100, 100)) == 200
    assert next_boundary(450, 470, (500, 100)) == 470
    assert next_boundary(7, 7, (5,)) == 7
    assert is_due(500, 500) and not is_due(501, 500)


def test_steps_and_max_steps_semantics():
    run = RunSpec(model_dir="m", max_steps=100)
    assert run.target_step(0) == 100
    assert run.target_step(100) == 100  # nothing more to do
    assert run.target_step(150) == 150
    more = RunSpec(model_dir="m", max_steps=100, steps=30)
    assert more.target_step(100) == 130


def test_eval_steps_non_positive_means_all():
    assert RunSpec(model_dir="m", eval_steps=0).eval_batches() is None
    assert RunSpec(model_dir="m", eval_steps=-1).eval_batches() is None
    assert RunSpec(model_dir="m", eval_steps=3).eval_batches() == 3


def test_compile_flags_conflict_and_need_train_mode():
    with pytest.raises(ConfigError, match="validate_only"):
        RunSpec(model_dir="m", validate_only=True, compile_only=True)
    with pytest.raises(ConfigError, match="only allowed with mode train"):
        RunSpec(model_dir="m", mode="eval", compile_only=True)
