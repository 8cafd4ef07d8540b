"""TensorFlowBenchmarker: training or inference steps timed after a warm-up, in compiled calls
of several steps as training runs them."""

from __future__ import annotations

import gc
import time
from typing import Any

from unet_defects.adapters.engine_timer import peak_resident_bytes
from unet_defects.adapters.tensorflow.device import DevicePlan, device_scope, op_determinism_enabled
from unet_defects.adapters.tensorflow.outputs import pixel_logits
from unet_defects.adapters.tensorflow.training_setup import build_training
from unet_defects.application.values import BenchmarkRun
from unet_defects.domain.losses import LossSpec
from unet_defects.domain.training import OptimizerSpec


def _inference_steps(model: Any, iterator: Any) -> Any:
    import tensorflow as tf

    @tf.function
    def infer_steps(count):
        total = tf.constant(0.0, tf.float32)
        for _ in tf.range(count):
            images, _ = next(iterator)
            total += tf.reduce_sum(tf.cast(pixel_logits(model(images, training=False)), tf.float32))
        return total

    return infer_steps


class TensorFlowBenchmarker:
    def __init__(self, optimizer: OptimizerSpec, loss: LossSpec, plan: DevicePlan, steps_per_call: int = 0,
                 device: str | None = None, jit: bool = False) -> None:
        self._optimizer = optimizer
        self._loss = loss
        self._plan = plan
        self._steps_per_call = steps_per_call
        self._device = device
        self._jit = jit

    def benchmark(self, model: Any, stream: Any, kind: str, steps: int, warmup_steps: int) -> BenchmarkRun:
        """Time `steps` steps after `warmup_steps` (the first call also compiles). Each step of a
        call is credited with the call's mean step time."""
        import tensorflow as tf

        with device_scope(self._device):
            if kind == "train":
                setup = build_training(model, self._optimizer, self._loss, self._plan.policy)
                jit = self._jit and not op_determinism_enabled()  # XLA refuses it
                compiled = setup.train_step.compile(iter(stream), jit=jit)
            else:
                compiled = _inference_steps(model, iter(stream.repeat() if hasattr(stream, "repeat") else stream))

            def call(count: int) -> None:
                result = compiled(tf.constant(count, tf.int64))
                float(result[0] if isinstance(result, tuple) else result)  # wait for the device

            tick = time.perf_counter()
            if warmup_steps:
                call(warmup_steps)
            warmup_seconds = time.perf_counter() - tick
            per_call = self._steps_per_call or max(1, steps // 10)
            seconds: list[float] = []
            while len(seconds) < steps:
                count = min(per_call, steps - len(seconds))
                tick = time.perf_counter()
                call(count)
                seconds += [(time.perf_counter() - tick) / count] * count
        # The compiled call holds the stream's iterator; freed now, its pipeline threads end
        # here rather than when the interpreter exits.
        compiled = call = None
        gc.collect()
        return BenchmarkRun(
            step_seconds=tuple(seconds), peak_memory_bytes=peak_resident_bytes(),
            device=self._plan.device, precision=self._plan.policy, data_format=self._plan.data_format,
            warmup_seconds=warmup_seconds,
        )
