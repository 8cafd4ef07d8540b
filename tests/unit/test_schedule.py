import pytest

from unet_defects.domain.errors import ConfigError
from unet_defects.domain.invocation import Invocation
from unet_defects.domain.training import Cadence, RunSpec, is_due, newest, next_boundary


def test_next_boundary_stops_at_every_period_and_the_target():
    assert next_boundary(0, 1000, (500, 100, 100)) == 100
    assert next_boundary(100, 1000, (500, 100, 100)) == 200
    assert next_boundary(450, 470, (500, 100)) == 470
    assert next_boundary(7, 7, (5,)) == 7
    assert is_due(500, 500) and not is_due(501, 500)


def test_the_cadence_stops_at_each_period_within_per_call_and_keeps_the_newest():
    cadence = Cadence(checkpoint_every=500, summary_every=100, log_every=100)
    assert cadence.next_stop(0, 1000) == 100 and cadence.next_stop(0, 1000, per_call=30) == 30
    assert cadence.checkpoint_due(500, 1000) and cadence.checkpoint_due(470, 470)
    assert not cadence.checkpoint_due(400, 1000) and cadence.summary_due(400) and not cadence.log_due(450)
    assert RunSpec(model_dir="m", save_checkpoints_steps=7).cadence.checkpoint_every == 7
    assert newest([30, 10, 20], keep=2) == [20, 30]


def test_steps_and_max_steps_semantics():
    run = Invocation()
    assert run.target_step(0, 100) == 100
    assert run.target_step(100, 100) == 100  # nothing more to do
    assert run.target_step(150, 100) == 150
    more = Invocation(steps=30)
    assert more.target_step(100, 100) == 130


def test_eval_steps_non_positive_means_all():
    assert RunSpec(model_dir="m", eval_steps=0).eval_batches() is None
    assert RunSpec(model_dir="m", eval_steps=-1).eval_batches() is None
    assert RunSpec(model_dir="m", eval_steps=3).eval_batches() == 3


def test_compile_flags_conflict_and_need_train_mode():
    with pytest.raises(ConfigError, match="validate_only"):
        Invocation(validate_only=True, compile_only=True)
    with pytest.raises(ConfigError, match="only allowed with mode train"):
        Invocation(mode="eval", compile_only=True)
    assert Invocation(validate_only=True).compile_kind == "validate" and Invocation().compile_kind is None


def test_only_train_runs_on_a_cerebras_system():
    cerebras = RunSpec(model_dir="m", cs_ip="10.0.0.1")
    Invocation().check_against(cerebras)
    with pytest.raises(ConfigError, match="only train runs on a Cerebras system"):
        Invocation(mode="eval").check_against(cerebras)
    Invocation(mode="eval").check_against(RunSpec(model_dir="m"))
