"""The decisions a run makes before it trains or predicts, in-process with fakes (no TensorFlow):
recording the configuration, refusing another topology, warning about ignored keys, the
submission's class id, and which trainer and compiler the configuration selects."""

import attrs
import numpy as np
import pytest

from tests.unit.test_use_cases import UseCaseFakes, experiment_for
from unet_defects.adapters.fakes import FakeImageSource
from unet_defects.application.prediction import Submission
from unet_defects.container import build_container
from unet_defects.domain.data import DataSpec
from unet_defects.domain.errors import ConfigError, UnetError
from unet_defects.domain.invocation import Invocation
from unet_defects.domain.training import RunSpec


def test_training_records_the_configuration_and_says_where():
    world = UseCaseFakes(RunSpec(model_dir="m", max_steps=2))
    world.train.execute()
    assert world.config_store.saves == 1 and world.config_store.stored == world.experiment
    assert ("message", "resolved parameters written to memory://params.yaml") in world.observer.events


def test_a_model_dir_of_another_topology_is_refused_before_anything_is_trained():
    world = UseCaseFakes(RunSpec(model_dir="m", max_steps=2))
    world.config_store.stored = experiment_for(world.run, model={"encoder_filters": [2, 8], "skip_connect": False})
    with pytest.raises(ConfigError) as refused:
        world.train.execute()
    message = str(refused.value)
    assert message.startswith("m: holds a model of another topology (")
    assert "model.encoder_filters [2, 8] -> [2, 4]" in message and "model.skip_connect False -> True" in message
    assert "\n" not in message
    assert world.trainer.batches_seen == 0 and world.config_store.saves == 0


def test_an_unreadable_saved_configuration_is_a_warning_not_a_stop():
    class Unreadable:
        saves = 0

        def saved(self):
            raise UnetError("m/params.yaml:3: mapping values are not allowed here")

        def save(self, experiment):
            self.saves += 1
            return "m/params.yaml"

    world = UseCaseFakes(RunSpec(model_dir="m", max_steps=2))
    world.config_store = Unreadable()
    world.train_with(Invocation()).execute()
    warnings = [text for kind, text in world.observer.of_kind("message") if text.startswith("warning:")]
    assert warnings == ["warning: cannot compare with the saved configuration "
                        "(m/params.yaml:3: mapping values are not allowed here)"]
    assert world.config_store.saves == 1 and sorted(world.checkpoints.saved) == [2]


def test_keys_accepted_but_not_acted_on_are_named():
    world = UseCaseFakes(RunSpec(model_dir="m", max_steps=1))
    world.experiment = experiment_for(world.run, optimizer={"log_grads": True, "log_hists": True})
    world.train_with(Invocation()).execute()
    warnings = [text for kind, text in world.observer.of_kind("message") if text.startswith("warning:")]
    assert warnings == ["warning: optimizer.log_grads: not implemented yet, ignored",
                        "warning: optimizer.log_hists: not implemented yet, ignored"]


def test_the_submission_takes_the_configs_class_id_unless_given():
    world = UseCaseFakes(RunSpec(model_dir="m", max_steps=1))
    world.train.execute()
    images = FakeImageSource({"in/a.jpg": np.zeros((4, 4), np.uint8)})
    data = DataSpec(dataset="SeverstalDataset", dataset_path="d", image_shape=(8, 8, 1), class_id=3)
    world.predict(images, data).execute(["in/"], "out", submission=Submission("s.csv"))
    world.predict(images, data).execute(["in/"], "out", submission=Submission("t.csv", class_id=1))
    assert world.artifacts.submissions["s.csv"][0][1] == 3 and world.artifacts.submissions["t.csv"][0][1] == 1
    unnamed = attrs.evolve(data, class_id=None)
    with pytest.raises(ConfigError, match="--class_id: required with --rle-csv"):
        world.predict(images, unnamed).execute(["in/"], "out", submission=Submission("u.csv"))


def config(**runconfig):
    return {"train_input": {"dataset": "external", "image_shape": [8, 8, 1]},
            "model": {"encoder_filters": [2, 4], "decoder_filters": [2]},
            "runconfig": {"model_dir": "m", **runconfig}}


def without_device_probe(container):
    """The device plan fixed, so that nothing asks TensorFlow which devices it sees."""
    from dependency_injector import providers

    from unet_defects.adapters.tensorflow.device import DevicePlan

    container.device_plan.override(providers.Object(DevicePlan("CPU", "float32", "channels_last")))
    return container


@pytest.mark.parametrize("runconfig, kind", [
    ({}, "tensorflow"),
    ({"cs_ip": "10.0.0.1"}, "cerebras"),
    ({"cs_ip": "10.0.0.1", "executor": "tensorflow"}, "tensorflow"),
])
def test_the_configuration_selects_the_trainer_and_compiler(runconfig, kind):
    container = build_container(config(**runconfig))
    if kind == "cerebras":  # the system's own plan: float32 here (mixed_precision is off), no device probe
        assert (container.device_plan().device, container.device_plan().policy) == ("Cerebras", "float32")
    trainer, compiler = without_device_probe(container).trainer(), container.compiler()
    assert trainer.name() == kind
    assert type(compiler).__name__ == ("CerebrasCompiler" if kind == "cerebras" else "TensorFlowCompiler")


def test_one_calls_flags_reach_the_adapters_without_becoming_configuration():
    container = without_device_probe(build_container(
        config(), {"mode": "eval", "device": "/cpu:0", "checkpoint_path": "elsewhere", "steps": 3}))
    assert container.invocation() == Invocation(mode="eval", device="/cpu:0", checkpoint_path="elsewhere", steps=3)
    assert container.evaluator()._device == "/cpu:0" and container.trainer()._warm_start == "elsewhere"
    assert not hasattr(container.experiment().run, "steps")
