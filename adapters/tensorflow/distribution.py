"""tf.distribute for the reference's `enable_distributed` and `multiple_workers`.

- enable_distributed: MirroredStrategy over the local GPUs (one replica on a CPU-only host);
- with multiple_workers: MultiWorkerMirroredStrategy from TF_CONFIG. Each worker reads its
  share of the data; only the chief writes checkpoints and summaries (the others write
  theirs to a scratch folder that is removed, as tf.distribute requires all to save).
Batch sizes in the YAML are global: each step's batch is split across the replicas.
"""

from __future__ import annotations

from typing import Any

from unet_defects.adapters.tensorflow.cluster import read_tf_config
from unet_defects.domain.errors import ConfigError
from unet_defects.domain.experiment import ExperimentSpec


def refuse_combinations(experiment: ExperimentSpec) -> None:
    """What this release does not combine with distribution, in one line each (a Ray driver
    checks them too, before any worker has its TF_CONFIG)."""
    run, optimizer = experiment.run, experiment.optimizer
    if not run.enable_distributed:
        if run.multiple_workers:
            raise ConfigError("runconfig.multiple_workers: needs runconfig.enable_distributed: True")
        return
    if optimizer.grad_accum_steps > 1:
        raise ConfigError("optimizer.grad_accum_steps: not combined with enable_distributed yet; use a larger "
                          "global batch instead")
    if isinstance(optimizer.loss_scaling_factor, float) and optimizer.loss_scaling_factor != 1.0:
        raise ConfigError("optimizer.loss_scaling_factor: a fixed scale is not combined with enable_distributed; "
                          "use 'tf_dynamic'")
    if experiment.evaluation.log_image_summaries:
        raise ConfigError("model.log_image_summaries: not combined with enable_distributed yet")


def check_compatible(experiment: ExperimentSpec) -> None:
    """refuse_combinations, then with multiple_workers this task's TF_CONFIG."""
    refuse_combinations(experiment)
    if experiment.run.enable_distributed and experiment.run.multiple_workers:
        read_tf_config("runconfig.multiple_workers")


def make_strategy(experiment: ExperimentSpec) -> Any | None:
    """The strategy, created before TensorFlow touches a device (MultiWorkerMirroredStrategy
    must come first); None without enable_distributed."""
    check_compatible(experiment)
    if not experiment.run.enable_distributed:
        return None
    import tensorflow as tf

    if experiment.run.multiple_workers:
        return tf.distribute.MultiWorkerMirroredStrategy()
    return tf.distribute.MirroredStrategy()


def is_chief(strategy: Any | None) -> bool:
    if strategy is None:
        return True
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not resolver.task_type:
        return True
    if resolver.task_type == "chief":
        return True
    has_chief = "chief" in resolver.cluster_spec().as_dict()
    return resolver.task_type == "worker" and resolver.task_id == 0 and not has_chief


def worker_label(strategy: Any | None) -> str:
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not resolver.task_type:
        return "local"
    return f"{resolver.task_type}-{resolver.task_id}"
