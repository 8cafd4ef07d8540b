"""The reference's Estimator contract for a Cerebras system, over the vendor's stack.

Built against the reference's documented contract: a TF1 Estimator `model_fn(features, labels,
mode, params)`, an `input_fn(params)` returning a tf.data.Dataset, `CSRunConfig(cs_ip=<ip>:9000,
cs_config=CSConfig(use_cbfloat16=...), ...)`, and `CerebrasEstimator.compile(input_fn,
validate_only=..., mode=...)` or `.train(input_fn, steps=..., max_steps=..., use_cs=True)`.
The vendor modules (cerebras.tf.*, cerebras.pb.tf.*) exist only inside Cerebras' container;
they are imported only when a Cerebras role runs. Not run on real Cerebras hardware: the tests
drive it with a fake package that records the calls.
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Callable
from typing import Any

from unet_defects.domain.errors import ConfigError, UnetError
from unet_defects.domain.experiment import ExperimentSpec

CS_PORT = "9000"
VENDOR_MODULES = {
    "estimator": ("cerebras.tf.cs_estimator", "CerebrasEstimator"),
    "run_config": ("cerebras.tf.run_config", "CSRunConfig"),
    "spec": ("cerebras.tf.cs_estimator_spec", "CSEstimatorSpec"),
    "cs_config": ("cerebras.pb.tf.csconfig_pb2", "CSConfig"),
}
NOT_INSTALLED = ("--cs_ip: the Cerebras software stack (cerebras.tf) is not installed here; run inside Cerebras' "
                 "container, or drop --cs_ip (and runconfig.executor: cerebras) to train on this machine's CPU/GPU")


def is_available() -> bool:
    try:
        return importlib.util.find_spec(VENDOR_MODULES["estimator"][0]) is not None
    except ModuleNotFoundError:  # the parent package `cerebras` is absent
        return False


def vendor() -> dict[str, Any]:
    if not is_available():
        raise UnetError(NOT_INSTALLED)
    return {key: getattr(importlib.import_module(module), name) for key, (module, name) in VENDOR_MODULES.items()}


def _variable(variable: Any) -> Any:
    """The tf.Variable behind a Keras variable (Keras 3 wraps it; tf.keras 2 is one)."""
    import tensorflow as tf

    return variable if isinstance(variable, tf.Variable) else variable.value


class EstimatorContract:
    """model_fn and input_fn for one job: the model from the container's builder, the batches
    from its dataset reader, the loss and optimizer from the configuration."""

    def __init__(self, experiment: ExperimentSpec, build_model: Callable[[], Any], open_stream: Callable[[], Any],
                 warm_start: str | None = None) -> None:
        self._experiment = experiment
        self._build_model = build_model
        self._open_stream = open_stream
        self._warm_start = warm_start

    def model_fn(self, features: Any, labels: Any, mode: Any, params: Any) -> Any:
        """The UNet of the configured topology, its loss, and a train op for the global step."""
        import tensorflow as tf

        from unet_defects.adapters.tensorflow.losses import make_training_loss

        spec_class = vendor()["spec"]
        model = self._build_model()
        loss, _ = make_training_loss(self._experiment.loss, len(model.outputs) > 1)(
            labels, model(features, training=True))
        optimizer_spec = self._experiment.optimizer
        if not optimizer_spec.schedule().is_constant():
            raise ConfigError("optimizer.learning_rate: schedules are not wired into the Cerebras path yet; "
                              "use a number")
        global_step = tf.compat.v1.train.get_or_create_global_step()
        optimizer = self._v1_optimizer(optimizer_spec.schedule().rate(0))
        train_op = optimizer.minimize(loss, global_step=global_step,
                                      var_list=[_variable(v) for v in model.trainable_variables])
        return spec_class(mode=mode, loss=loss, train_op=train_op)

    def _v1_optimizer(self, rate: float) -> Any:
        import tensorflow as tf

        spec = self._experiment.optimizer
        reduced = self._experiment.precision.mixed_precision
        train = tf.compat.v1.train
        if spec.optimizer_type == "sgd":
            return train.GradientDescentOptimizer(rate)
        if spec.optimizer_type == "momentum":
            return train.MomentumOptimizer(rate, momentum=spec.momentum)
        if spec.optimizer_type == "rmsprop":
            return train.RMSPropOptimizer(rate, decay=spec.rmsprop_decay, momentum=spec.rmsprop_momentum,
                                          epsilon=spec.resolved_epsilon(reduced))
        if spec.optimizer_type == "adamw":
            raise ConfigError("optimizer.optimizer_type: adamw is not wired into the Cerebras path yet; use adam")
        return train.AdamOptimizer(rate, beta1=spec.beta1, beta2=spec.beta2, epsilon=spec.resolved_epsilon(reduced))

    def input_fn(self, params: Any = None) -> Any:
        return self._open_stream()

    def estimator(self) -> Any:
        from unet_defects.configs.loader import to_mapping

        classes = vendor()
        run = self._experiment.run
        cs_config = classes["cs_config"](use_cbfloat16=self._experiment.cerebras.use_cbfloat16)
        config = classes["run_config"](
            cs_ip=f"{run.cs_ip}:{CS_PORT}", cs_config=cs_config, tf_random_seed=run.tf_random_seed,
            save_summary_steps=run.save_summary_steps, save_checkpoints_steps=run.save_checkpoints_steps,
            keep_checkpoint_max=run.keep_checkpoint_max, log_step_count_steps=run.log_step_count_steps,
        )
        return classes["estimator"](model_fn=self.model_fn, model_dir=run.model_dir, config=config,
                                    params=to_mapping(self._experiment), warm_start_from=self._warm_start)
