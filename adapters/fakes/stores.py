"""Fakes of the stores and sources around the use cases (configuration, image files,
artifacts, run history, charts, TFRecords), in memory and free of TensorFlow."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import attrs
import numpy as np

from unet_defects.application.values import ChartPanel, RunScalars
from unet_defects.domain.data import DataSpec, Sample
from unet_defects.domain.errors import DataError
from unet_defects.domain.experiment import ExperimentSpec


class FakeSampleSource:
    def __init__(self, samples: dict[str, list[Sample]]) -> None:
        self._samples = samples

    def samples(self, split: str) -> list[Sample]:
        return list(self._samples[split])


class FakeConfigStore:
    def __init__(self, saved: ExperimentSpec | None = None) -> None:
        self.stored = saved
        self.saves = 0

    def saved(self) -> ExperimentSpec | None:
        return self.stored

    def save(self, experiment: ExperimentSpec) -> str:
        self.stored, self.saves = experiment, self.saves + 1
        return "memory://params.yaml"


class FakeImageSource:
    def __init__(self, images: dict[str, np.ndarray | None]) -> None:
        self._images = images  # None stands for an unreadable file

    def list(self, inputs: Sequence[str]) -> list[str]:
        return [name for name in self._images if any(name.startswith(item) for item in inputs)]

    def locate(self, name: str) -> str:
        return name

    def stream(self, names: Sequence[str], max_pixels: int | None = None) -> Iterator[tuple[str, np.ndarray | None, str]]:
        for name in names:
            image = self._images.get(name)
            if image is not None and max_pixels is not None and image.shape[0] * image.shape[1] > max_pixels:
                yield name, None, f"{name}: more than --max_pixels {max_pixels:,}"
            else:
                yield name, image, "" if image is not None else f"{name}: cannot read image (fake unreadable file)"


class InMemoryArtifactStore:
    def __init__(self) -> None:
        self.evaluations: list[Any] = []
        self.final: dict | None = None
        self.predictions: dict[str, np.ndarray] = {}
        self.submissions: dict[str, list[tuple[str, int, str]]] = {}
        self.lines: dict[str, list[dict]] = {}

    def write_evaluation(self, result: Any) -> list[str]:
        self.evaluations.append(result)
        return [f"memory://eval/results-{result.step}.json"]

    def write_final(self, validation: Any, test: Any) -> str:
        self.final = {**test.as_dict(), "validation": validation.as_dict(), "test": test.as_dict()}
        return "memory://eval/results.json"

    def write_prediction(self, output: str, name: str, image: np.ndarray, probabilities: np.ndarray,
                         decision: np.ndarray, save_probabilities: bool = False,
                         class_ids: Sequence[int] = ()) -> list[str]:
        self.predictions[name] = decision
        masks = [f"{output}/{name}_mask_{k}.png" for k in class_ids] or [f"{output}/{name}_mask.png"]
        written = [*masks, f"{output}/{name}_overlay.png"]
        return written + ([f"{output}/{name}_probability.png"] if save_probabilities else [])

    def write_submission(self, path: str, rows: Sequence[tuple[str, int, str]]) -> str:
        self.submissions[path] = list(rows)
        return path

    def check_output(self, output: str) -> None:
        if output in self.submissions:  # a "file" already written here
            raise DataError(f"{output}: exists and is not a folder; name a folder for --output")

    def write_lines(self, output: str, name: str, rows: Sequence[dict]) -> str:
        self.lines[f"{output}/{name}"] = list(rows)
        return f"{output}/{name}"


class FakeRunHistory:
    def __init__(self, scalars: RunScalars) -> None:
        self._scalars = scalars

    def scalars(self) -> RunScalars:
        return self._scalars


class RecordingRenderer:
    def __init__(self) -> None:
        self.drawn: list[tuple[str, str, Sequence[ChartPanel]]] = []

    def draw(self, path: str, title: str, panels: Sequence[ChartPanel]) -> str:
        self.drawn.append((path, title, panels))
        return path


class FakeRecordWriter:
    def __init__(self) -> None:
        self.splits: dict[str, list[Sample]] = {}

    def write_split(self, samples: Sequence[Sample], directory: str, split: str, images_per_file: int,
                    progress: Any = None) -> list[str]:
        self.splits[split] = list(samples)
        shards = max(1, -(-len(samples) // images_per_file))
        return [f"{directory}/{split}-{index:03d}.tfrecords" for index in range(shards)]

    def write_manifest(self, directory: str, counts: dict[str, int], spec: DataSpec, source: dict) -> str:
        return f"{directory}/manifest.json"


class FakeMachineProbe:
    def __init__(self, facts: Any) -> None:
        self._facts = facts  # an application.info.MachineFacts

    def facts(self, extras: bool = True) -> Any:
        return self._facts if extras else attrs.evolve(self._facts, extras=())
