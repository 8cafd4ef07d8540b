"""Fakes of the planning ports: a survey of given samples, facts given per file, a step timer
with a step time per precision, and a writer that keeps the plan."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import attrs

from unet_defects.application.values import StepTiming
from unet_defects.domain.data import Sample
from unet_defects.domain.fingerprint import ImageFacts
from unet_defects.domain.planning import DataSplit


class FakeSurvey:
    def __init__(self, samples: Sequence[Sample], layout: DataSplit) -> None:
        self._samples, self._layout = list(samples), layout

    def training_samples(self, dataset_path: str, seed: int = 0, keep: float = 0.8, class_names=None,
                         category_map=None) -> tuple[list[Sample], DataSplit]:
        self.asked = (seed, keep)
        return self._samples, self._layout


class FakeFingerprinter:
    """The facts of each sample, looked up by its image's name."""

    def __init__(self, facts: Mapping[str, ImageFacts]) -> None:
        self._facts = dict(facts)

    def measure(self, samples: Sequence[Sample], kinds: Sequence[str],
                progress: Callable[[int, int], None] | None = None) -> list[ImageFacts]:
        found = []
        for done, (sample, kind) in enumerate(zip(samples, kinds), 1):
            found.append(attrs.evolve(self._facts[str(sample.image)], kind=kind))
            if progress is not None:
                progress(done, len(samples))
        return found


class FakeStepTimer:
    """Seconds a step per precision: "mixed" for the device's mixed precision, "float32"."""

    def __init__(self, seconds: Mapping[str, float], mixed: str = "mixed_bfloat16",
                 evaluation_image: float = 0.05) -> None:
        self._seconds, self._mixed, self._evaluation = dict(seconds), mixed, evaluation_image
        self.timed: list[Mapping[str, Any]] = []

    def time(self, params: Mapping[str, Any]) -> StepTiming:
        self.timed.append(params)
        forced = params.get("model", {}).get("precision", "auto")
        precision = "float32" if forced == "float32" or "mixed" not in self._seconds else self._mixed
        key = "float32" if precision == "float32" else "mixed"
        return StepTiming(self._seconds[key], self._evaluation, precision, "a fake CPU")


class KeptPlanWriter:
    def __init__(self) -> None:
        self.plans: dict[str, Any] = {}

    def write(self, plan: Any, output: str) -> str:
        self.plans[output] = plan
        return output
