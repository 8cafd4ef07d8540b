"""ContainerStepTimer: times a planned configuration on this machine, through the same
container and use cases as a run, so that the plan's length comes from measured work, not an
assumed speed: training steps through the real input pipeline at its steady state (as `unet run
--mode train_benchmark --with_input_pipeline`, after two epochs' batches drawn ahead), and
evaluation images (a stratified sample of the validation part) as the
run evaluates them (predict's maps: tiles, test-time augmentation, batching; then each image
scored in numpy), through fresh weights."""

from __future__ import annotations

import tempfile
import time
from collections.abc import Mapping
from typing import Any

from unet_defects.application.values import StepTiming
from unet_defects.domain.errors import DataError

TRAIN_STEPS, TRAIN_WARMUP = 20, 5
# Validation images timed (a stratified sample of the part), in a second pass after a first that
# traces the network for their shapes.
EVALUATION_IMAGES = 16  # two full batches of predict's 8 (a part-filled batch costs a full one)


class ContainerStepTimer:
    def __init__(self, train_steps: int = TRAIN_STEPS, warmup_steps: int = TRAIN_WARMUP) -> None:
        self._steps = train_steps
        self._warmup = warmup_steps
        self._imported: float | None = None  # TensorFlow's import: a run's process pays it, the planner once

    def time(self, params: Mapping[str, Any]) -> StepTiming:
        if self._imported is None:
            tick = time.perf_counter()
            import tensorflow  # noqa: F401

            self._imported = time.perf_counter() - tick
        imported = self._imported
        from unet_defects.container import build_container

        with tempfile.TemporaryDirectory(prefix="unet-plan-") as scratch:
            sections = {section: dict(body) for section, body in params.items()}
            sections.setdefault("runconfig", {})["model_dir"] = scratch
            tick = time.perf_counter()
            training = build_container(sections, {"with_input_pipeline": True}).benchmark().execute(
                "train_benchmark", self._steps, self._warmup, steady_pipeline=True)
            whole = time.perf_counter() - tick  # the container, the model, the pipeline, tracing and the steps
            # a stratified sample of the validation part, in a seeded order (its first images are
            # as mixed in size and type as the part, not the first names of one type)
            sections.setdefault("train_input", {})["validation_sample"] = EVALUATION_IMAGES
            evaluation = evaluation_image_seconds(build_container(sections))
        seconds_per_step = training.batch_size / training.images_per_second
        return StepTiming(seconds_per_step=seconds_per_step, seconds_per_evaluation_image=evaluation,
                          precision=training.precision, machine=machine_line(),
                          startup_seconds=imported + max(0.0, whole - (self._steps + self._warmup) * seconds_per_step))


def evaluation_image_seconds(container: Any) -> float:
    """The mean seconds a validation image's evaluation takes, as a run evaluates it: the sample
    evaluated twice, the second pass timed whole (the first traces the network for its shapes,
    as a run's first evaluation does). Timed whole, not image by image: images share the
    network's batches, and an image's maps come back only once its batch is done."""
    import attrs
    import numpy as np

    from unet_defects.application.map_scoring import scored_map
    from unet_defects.application.options import InferenceOptions

    experiment = container.experiment()
    session = container.session_opener().fresh()
    rules = (experiment.evaluation.rule, *experiment.evaluation.threshold_rules())
    components = container.components()

    def one_pass() -> tuple[float, int]:
        stream = container.dataset().evaluation_stream("curve")
        tick, count = time.perf_counter(), 0
        maps = container.line_maps().run(session, InferenceOptions(), stream, None,
                                         experiment.evaluation.eval_ignore_classes)
        for index, found in enumerate(maps):
            # Scored on a map shaped like its truth: fresh weights' maps, near 0.5 everywhere, are a
            # speckle whose labelling costs many times a trained model's.
            trained_like = attrs.evolve(found, probabilities=np.where(found.truth, 0.9, 0.1).astype(np.float32))
            scored = scored_map(index, trained_like, rules, session.decisions, components)
            picture = scored.picture()
            components.match(picture.truth, picture.prediction)
            count += 1
        return time.perf_counter() - tick, count

    one_pass()
    seconds, count = one_pass()
    if not count:
        raise DataError("unet plan: the validation part gave no image to time an evaluation on "
                        "(train_input.validation_split)")
    return seconds / count


def machine_line() -> str:
    import os

    from unet_defects.adapters.hardware import cpu_flags, cpu_model
    from unet_defects.application.info import describe_cpu_flags

    return f"{cpu_model()}, {os.cpu_count()} cores ({describe_cpu_flags(cpu_flags())})"
