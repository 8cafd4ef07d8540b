"""ParamsFile: the ConfigStore port over `<model_dir>/params.yaml`."""

from __future__ import annotations

from pathlib import Path

from unet_defects.configs.loader import load_experiment, write_resolved
from unet_defects.domain.experiment import ExperimentSpec

PARAMS_FILE = "params.yaml"


class ParamsFile:
    def __init__(self, model_dir: str) -> None:
        self._model_dir = model_dir

    def saved(self) -> ExperimentSpec | None:
        path = Path(self._model_dir) / PARAMS_FILE
        return load_experiment(path) if path.is_file() else None

    def save(self, experiment: ExperimentSpec) -> str:
        return str(write_resolved(experiment, self._model_dir))
