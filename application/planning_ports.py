"""Ports of the own-data planner: the survey of a dataset's files, their measurement, the
timing of real steps and the plan's file."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

from unet_defects.application.values import StepTiming
from unet_defects.domain.data import Sample
from unet_defects.domain.fingerprint import ImageFacts
from unet_defects.domain.planning import DataSplit


class DatasetSurvey(Protocol):
    def training_samples(self, dataset_path: str, seed: int = 0, keep: float = 0.8,
                         class_names: Sequence[str] | None = None, category_map: Mapping[str, str] | None = None,
                         ) -> tuple[list[Sample], DataSplit]:
        """The images a plan may read (never the test split: for a single folder, the share
        `keep` that training's seeded split keeps) and where they come from. Annotations'
        categories are chosen as the user's `class_names` and `category_map` say (--set), else
        each category is a class."""


class Fingerprinter(Protocol):
    def measure(self, samples: Sequence[Sample], kinds: Sequence[str],
                progress: Callable[[int, int], None] | None = None) -> list[ImageFacts]:
        """Every sample's facts, in order; unreadable files fail together (DataProblems)."""


class StepTimer(Protocol):
    def time(self, params: Mapping[str, Any]) -> StepTiming:
        """Time a few real training steps, and one evaluation image, of the configuration."""


class PlanWriter(Protocol):
    def write(self, plan: Any, output: str) -> str:
        """Write the plan as a commented params file that loads back to the same run; return where."""
