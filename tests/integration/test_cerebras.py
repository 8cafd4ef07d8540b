"""The Cerebras executor against a fake of the vendor stack (tests/fakes/cerebras_stack).

Not run on real Cerebras hardware: these tests show that the reference's Estimator contract
is met (model_fn, input_fn, run config, which call each mode makes), nothing more."""

import json
import sys
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf
import yaml

from tests.conftest import tiny_params, unet_in_process
from unet_defects.container import build_container

FAKE_STACK = Path(__file__).resolve().parents[1] / "fakes" / "cerebras_stack"


def unet_without_the_stack(monkeypatch, *args):
    """`unet ARGS` in this process as where the stack is not installed: the fake stack, once
    imported by another test, is hidden from sys.modules until this test ends."""
    for name in [name for name in sys.modules if name == "cerebras" or name.startswith("cerebras.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "cerebras", None)  # `import cerebras` fails as where it is absent
    return unet_in_process(*args)


@pytest.fixture
def params_file(tiny_dagm, tmp_path):
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(tiny_params(tiny_dagm, tmp_path / "m")))
    return path


def test_without_the_stack_the_cs_ip_flag_ends_with_one_line(params_file, monkeypatch):
    result = unet_without_the_stack(monkeypatch, "run", "--params", str(params_file), "--cs_ip", "10.0.0.1")
    assert result.returncode == 2
    assert "Cerebras software stack (cerebras.tf) is not installed" in result.stderr
    assert "Traceback" not in result.stderr


def unet_with_fake_stack(monkeypatch, record, *args):
    """`unet ARGS` in this process with the fake stack on the path, recording into `record`."""
    monkeypatch.syspath_prepend(str(FAKE_STACK))
    monkeypatch.setenv("FAKE_CEREBRAS_RECORD", str(record))
    from cerebras.calls import CALLS  # the fake stack's record of this process

    CALLS.clear()
    return unet_in_process(*args)


def test_train_builds_the_estimator_from_the_config_and_calls_train_on_the_system(params_file, tmp_path,
                                                                                  monkeypatch):
    record = tmp_path / "calls.json"
    result = unet_with_fake_stack(monkeypatch, record, "run", "--params", str(params_file), "--cs_ip", "10.0.0.1",
                                  "--max_steps", "40")
    assert result.returncode == 0, result.stderr
    init, train = json.loads(record.read_text())
    assert init["cs_ip"] == "10.0.0.1:9000" and init["cs_config"] == {"use_cbfloat16": False}
    assert init["run_config"]["save_checkpoints_steps"] == 2 and init["run_config"]["tf_random_seed"] == 7
    assert init["params_sections"][:2] == ["augmentation", "csconfig"]
    assert (train["call"], train["max_steps"], train["use_cs"]) == ("train", 40, True)
    assert train["batch_shape"] == [4, 32, 32, 1] and train["has_train_op"]
    topology = build_container(yaml.safe_load(params_file.read_text())).experiment().model
    assert train["parameters"] == topology.parameter_count()


@pytest.mark.parametrize("flag, validate_only", [("--validate_only", True), ("--compile_only", False)])
def test_the_compile_flags_map_to_compile(params_file, tmp_path, monkeypatch, flag, validate_only):
    record = tmp_path / "calls.json"
    result = unet_with_fake_stack(monkeypatch, record, "run", "--params", str(params_file), "--cs_ip", "10.0.0.1", flag)
    assert result.returncode == 0, result.stderr
    compile_call = json.loads(record.read_text())[-1]
    assert compile_call["call"] == "compile" and compile_call["validate_only"] is validate_only


def test_other_modes_are_refused_on_the_system(params_file, tmp_path, monkeypatch):
    result = unet_with_fake_stack(monkeypatch, tmp_path / "calls.json", "run", "--params", str(params_file),
                                  "--cs_ip", "10.0.0.1", "--mode", "eval")
    assert result.returncode == 2 and "only train runs on a Cerebras system" in result.stderr


def cerebras_container(tiny_dagm, model_dir, monkeypatch, **model):
    monkeypatch.syspath_prepend(str(FAKE_STACK))
    params = tiny_params(tiny_dagm, model_dir)
    params["runconfig"]["cs_ip"] = "10.0.0.1"
    params["model"].update(model)
    return build_container(params)


class RecordingBuilder:
    """The container's builder, wrapped to show which adapter builds with it."""

    def __init__(self, inner):
        self.inner, self.built = inner, 0

    def build(self, spec):
        self.built += 1
        return self.inner.build(spec)


def test_the_container_builder_reaches_the_cerebras_trainer(tiny_dagm, tmp_path, monkeypatch):
    from dependency_injector import providers

    container = cerebras_container(tiny_dagm, tmp_path / "m", monkeypatch)
    from cerebras.calls import CALLS  # the fake stack, now on the path
    recording = RecordingBuilder(container.builder())
    container.builder.override(providers.Object(recording))
    assert container.trainer().name() == "cerebras"
    CALLS.clear()
    container.train().execute()
    assert recording.built == 1 and [call["call"] for call in CALLS] == ["init", "train"]
    assert CALLS[1]["max_steps"] == container.experiment().run.max_steps


def test_the_model_fn_computes_the_configured_topology_and_loss(tiny_dagm, tmp_path, monkeypatch):
    from unet_defects.adapters.fakes import RecordingObserver
    from unet_defects.application.ports import TrainingJob

    container = cerebras_container(tiny_dagm, tmp_path / "m", monkeypatch, loss="bce_dice")
    cerebras = container.trainer()
    assert cerebras.name() == "cerebras" and cerebras.is_available()
    job = TrainingJob(build_model=lambda: container.builder().build(container.experiment().model),
                      open_stream=container.dataset().training_stream, target_step=1, observer=RecordingObserver())
    contract = cerebras.contract(job)
    images, masks = next(iter(contract.input_fn({})))
    graph = tf.Graph()
    with graph.as_default():
        features = tf.compat.v1.placeholder(tf.float32, images.shape)
        labels = tf.compat.v1.placeholder(tf.float32, masks.shape)
        spec = contract.model_fn(features, labels, "train", {})
        variables = tf.compat.v1.trainable_variables()
        with tf.compat.v1.Session(graph=graph) as session:
            session.run(tf.compat.v1.global_variables_initializer())
            feed = {features: images.numpy(), labels: masks.numpy()}
            graph_loss = session.run(spec.loss, feed)
            weights = session.run(variables)
    # The same weights in an eager model of the configured topology give the same loss.
    from unet_defects.adapters.tensorflow.builder import KerasUNetBuilder
    from unet_defects.adapters.tensorflow.losses import make_loss

    eager = KerasUNetBuilder("float32", "channels_last").build(container.experiment().model)
    eager.set_weights(weights)
    expected = make_loss(container.experiment().loss)(masks, tf.cast(eager(images, training=True), tf.float32))
    assert graph_loss == pytest.approx(float(expected), rel=1e-5)
    assert sum(int(np.prod(w.shape)) for w in weights) == container.experiment().model.parameter_count()
