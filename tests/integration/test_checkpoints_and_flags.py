"""Damaged checkpoints, and the flags that choose a checkpoint, a device or the call size."""

import logging
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import tiny_params
from unet_defects.adapters.fakes import RecordingObserver
from unet_defects.container import build_container
from unet_defects.domain.invocation import Invocation

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]


def trained(tiny_dagm, model_dir, invocation=None, **runconfig):
    values = {"max_steps": 6, "save_checkpoints_steps": 3, "keep_checkpoint_max": 5, **runconfig}
    container = build_container(tiny_params(tiny_dagm, model_dir, **values), invocation=invocation)
    outcome = container.train().execute()
    return container, outcome


def truncate(path: Path, size: int = 1000) -> None:
    with open(path, "r+b") as handle:
        handle.truncate(size)


@pytest.mark.parametrize("damage, words", [
    ("truncate", "truncated (a data shard holds fewer bytes than its index records)"),
    ("delete", "data shard model.ckpt-6.data-00000-of-00001 is missing"),
    ("garble", "not a checkpoint (its index cannot be read)"),
])
def test_a_damaged_newest_checkpoint_falls_back_to_the_newest_readable_one(tiny_dagm, tmp_path, caplog, damage,
                                                                          words):
    model_dir = tmp_path / "m"
    trained(tiny_dagm, model_dir)
    shard = model_dir / "model.ckpt-6.data-00000-of-00001"
    if damage == "truncate":
        truncate(shard)
    elif damage == "delete":
        shard.unlink()
    else:
        (model_dir / "model.ckpt-6.index").write_bytes(b"not an index" * 20)
    caplog.set_level(logging.WARNING, logger="unet")
    evaluated = build_container(tiny_params(tiny_dagm, model_dir)).evaluate().execute()
    assert evaluated.step == 3
    warning, = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING and r.name == "unet"]
    assert warning == f"{model_dir}/model.ckpt-6: cannot read checkpoint ({words}); using {model_dir}/model.ckpt-3"
    assert (model_dir / "model.ckpt-6.index").is_file()  # evaluation only reads: nothing moved
    caplog.clear()
    observer = RecordingObserver()
    container = build_container(tiny_params(tiny_dagm, model_dir, max_steps=9, save_checkpoints_steps=3,
                                            keep_checkpoint_max=5))
    container.observer.override(observer)
    outcome = container.train().execute()
    assert (outcome.start_step, outcome.final_step) == (3, 9) and observer.of_kind("started") == [("started", 3, 9)]
    kept = sorted(p.name for p in (model_dir / "unreadable").iterdir())
    assert "model.ckpt-6.index" in kept and any(name.startswith("model.ckpt-6.") for name in kept)
    assert [ref.step for ref in container.checkpoints().list()] == [3, 6, 9]  # step 6 trained again
    assert any("its files are kept in" in r.getMessage() for r in caplog.records)


def test_checkpoint_path_chooses_what_is_evaluated_and_warm_starts_a_new_model_dir(tiny_dagm, tmp_path):
    source = tmp_path / "source"
    container, _ = trained(tiny_dagm, source)
    older = str(source / "model.ckpt-3")
    chosen = build_container(tiny_params(tiny_dagm, source), invocation=Invocation(mode="eval",
                                                                                   checkpoint_path=older))
    assert chosen.evaluate().execute().step == 3 and container.evaluate().execute().step == 6

    params = tiny_params(tiny_dagm, tmp_path / "warm", max_steps=1, save_checkpoints_steps=1)
    params["optimizer"] = {"optimizer_type": "sgd", "learning_rate": 1.0e-9}  # one step that moves nothing
    warm = build_container(params, invocation=Invocation(checkpoint_path=str(source)))
    assert warm.train().execute().start_step == 0
    expected = container.builder().build(container.experiment().model)
    container.checkpoints().restore(expected)
    started = warm.builder().build(warm.experiment().model)
    assert warm.checkpoints().restore(started).step == 1
    for a, b in zip(started.get_weights(), expected.get_weights()):
        np.testing.assert_allclose(a, b, atol=1e-6)
    fresh = build_container(params).builder().build(warm.experiment().model)
    assert any(not np.allclose(a, b) for a, b in zip(fresh.get_weights(), expected.get_weights()))


@pytest.mark.parametrize("steps_per_call, stops", [(1, [1, 2, 3, 4, 5, 6, 7, 8, 9]), (3, [1, 4, 7, 9])])
def test_steps_per_call_sets_how_many_steps_each_compiled_call_runs(tiny_dagm, tmp_path, steps_per_call, stops):
    params = tiny_params(tiny_dagm, tmp_path / "m", max_steps=9, save_checkpoints_steps=100, save_summary_steps=100,
                         log_step_count_steps=100, steps_per_call=steps_per_call)
    container = build_container(params)
    observer = RecordingObserver()
    container.observer.override(observer)
    container.train().execute()
    # The loop reports after every call; the first call (it traces) runs one step.
    assert [event[1] for event in observer.of_kind("progressed")] == stops


DEVICE_SCRIPT = """
import sys
import tensorflow as tf
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
sys.path.insert(0, {root!r})
import yaml
from dependency_injector import providers
from unet_defects.domain.invocation import Invocation
from unet_defects.container import build_container

for device in {devices!r}:
    params = yaml.safe_load(open({params!r}))
    params["runconfig"]["model_dir"] += "-" + str(device).strip("/").replace(":", "")
    container = build_container(params, invocation=Invocation(device=device))
    built = []
    inner = container.builder()
    container.builder.override(providers.Object(type("Keeping", (), {{"build": lambda self, spec: built.append(
        inner.build(spec)) or built[-1]}})()))
    container.train().execute()
    print("DEVICES", device, sorted({{w.value.device.rsplit("/", 1)[-1] for w in built[0].weights}}))
"""


def test_device_places_the_model_where_it_says(tiny_dagm, tmp_path):
    # One process for both (the two logical CPUs must be made before TensorFlow starts).
    import yaml

    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(tiny_params(tiny_dagm, tmp_path / "m", max_steps=1)))
    script = DEVICE_SCRIPT.format(root=str(ROOT), params=str(path), devices=["/cpu:1", None])
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "DEVICES /cpu:1 ['device:CPU:1']" in result.stdout
    assert "DEVICES None ['device:CPU:0']" in result.stdout
