"""What the multi-worker tests share: the tiny two-worker configuration, each worker's final
weights saved to an .npz, and the check that the workers formed one cluster. test_distributed.py
starts the two workers itself with a hand-written TF_CONFIG; test_ray_train.py has Ray Train
start them (SavingSpec: the CLI's spec, whose workers also save their weights)."""

from pathlib import Path

import attrs
import numpy as np
from dependency_injector import providers

from tests.conftest import tiny_params
from unet_defects.container import build_container
from unet_defects.ray_run import RayTrainSpec

NOT_WEIGHTS = ("final_step", "replicas")


def two_worker_params(dataset: Path, model_dir: Path) -> dict:
    params = tiny_params(dataset, model_dir, max_steps=4, save_checkpoints_steps=4)
    params["runconfig"].update({"enable_distributed": True, "multiple_workers": True})
    params["train_input"]["train_batch_size"] = 4  # global: 2 per worker
    return params


def save_weights(out: str, model, final_step: int, strategy) -> None:
    replicas = strategy.num_replicas_in_sync  # 2 only when the two workers formed a cluster
    np.savez(out, *model.get_weights(), final_step=final_step, replicas=replicas)


def check_one_cluster(params: dict, tmp_path: Path, outputs: list[Path]) -> float:
    """The two workers end with identical weights, the chief's checkpoint, after 4 steps of one
    cluster; returns their largest difference from one process training on the same global batch."""
    chief, other = (np.load(path) for path in outputs)
    assert int(chief["final_step"]) == int(other["final_step"]) == 4
    assert int(chief["replicas"]) == int(other["replicas"]) == 2  # one cluster, not two lone runs
    weights = [key for key in chief.files if key not in NOT_WEIGHTS]
    for key in weights:
        np.testing.assert_array_equal(chief[key], other[key])
    # Only the chief wrote checkpoints, into model_dir; the other's scratch folder is gone.
    model_dir = Path(params["runconfig"]["model_dir"])
    assert sorted(p.name for p in model_dir.glob("model.ckpt-*.index")) == ["model.ckpt-4.index"]
    assert not list(model_dir.glob(".worker-*"))
    single = dict(params, runconfig={**params["runconfig"], "enable_distributed": False, "multiple_workers": False})
    container = build_container(single)
    model = container.builder().build(container.experiment().model)
    assert container.checkpoints().restore(model).step == 4
    for key, saved in zip(weights, model.get_weights()):
        np.testing.assert_array_equal(chief[key], saved)
    # The YAML batch is global: one process training on batches of 4 lands on nearly the same weights.
    alone = build_container(dict(single, runconfig={**single["runconfig"], "model_dir": str(tmp_path / "alone")}))
    alone.train().execute()
    reference = alone.builder().build(alone.experiment().model)
    alone.checkpoints().restore(reference)
    differences = []
    for key, expected in zip(weights, reference.get_weights()):  # measured: at most 2.98e-8 apart
        # within 3e-8, or one float32 rounding of a larger weight (the sums' order differs across workers)
        np.testing.assert_allclose(chief[key], expected, rtol=2.0**-23, atol=3e-8)
        differences.append(float(np.max(np.abs(chief[key] - expected))))
    return max(differences)


class _Capturing:
    """A model builder that keeps what it built, to save its weights after training."""

    def __init__(self, builder, built: list) -> None:
        self._builder, self._built = builder, built

    def build(self, topology):
        self._built.append(self._builder.build(topology))
        return self._built[-1]


class _SavingTraining:
    def __init__(self, use_case, built: list, strategy, out: str) -> None:
        self._use_case, self._built, self._strategy, self._out = use_case, built, strategy, out

    def execute(self, after_checkpoint=None):
        outcome = self._use_case.execute(after_checkpoint)
        index = self._strategy.cluster_resolver.task_id
        save_weights(self._out.format(index=index), self._built[0], outcome.final_step, self._strategy)
        return outcome


class _SavingContainer:
    """The spec's container, whose training use case then saves its worker's weights."""

    def __init__(self, container, out: str) -> None:
        self._container, self._out = container, out

    def __getattr__(self, name):
        return getattr(self._container, name)

    def train(self):
        built: list = []
        self._container.builder.override(providers.Object(_Capturing(self._container.builder(), built)))
        return _SavingTraining(self._container.train(), built, self._container.strategy(), self._out)


@attrs.frozen
class SavingSpec(RayTrainSpec):
    out: str = ""  # a worker's .npz, {index} its task index

    def container(self):
        return _SavingContainer(super().container(), self.out)
