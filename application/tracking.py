"""Tracking runs (runconfig.tracking_uri): the RunTracker port, its no-op stand-in, and
TrackedRun, which holds one command inside the model_dir's tracked run.

A model_dir is one tracked run: `unet run` starts it, a resumed or later call continues it, and
`unet export` adds its export to it. What goes in: the resolved configuration as parameters,
the machine, the training loss and learning rate at each log step (the trainer), every
evaluation's scores at its step (EvaluateUseCase), and the run's files at the end.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol, TypeVar

from unet_defects.application.evaluation_result import EvaluationResult
from unet_defects.application.info import MachineProbe, cpu_line, gpu_line
from unet_defects.domain.errors import TrainingInterrupted, UnetError
from unet_defects.domain.tracking_names import run_params, score_metrics

Result = TypeVar("Result")

FINISHED, FAILED, KILLED = "FINISHED", "FAILED", "KILLED"


class RunTracker(Protocol):
    """Where a run's parameters, metrics and files go. Calls before `start` (a use case run
    outside a TrackedRun) are ignored. A tracking failure (the store refused, the server went
    away) is raised by the next `log_metrics`, or by `end` when the work itself succeeded;
    `log_files` never raises it, so the work's own error is the one reported."""

    active: bool  # False: nothing is tracked, so nothing need be computed for it

    def start(self, params: Mapping[str, str], keeps_status: bool = False) -> None:
        """Continue the model_dir's run, or start one, with these parameters. `keeps_status`:
        add to the run without marking it running, nor ended by `end` (an export adds its
        folder to a training run that may have failed, or may still be running)."""

    def log_metrics(self, step: int, metrics: Mapping[str, float]) -> None: ...

    def log_files(self, paths: Sequence[str], folder: str = "") -> None:
        """Copy files (a folder keeps its name) into the run under `folder`; missing ones are skipped."""

    def end(self, status: str = FINISHED, tags: Mapping[str, str] | None = None) -> None:
        """Tag the run and mark it FINISHED, FAILED or KILLED (not with `keeps_status`), once
        everything sent has arrived."""


class NoTracking:
    """No runconfig.tracking_uri: nothing is imported, computed or written for tracking."""

    active = False

    def start(self, params: Mapping[str, str], keeps_status: bool = False) -> None:
        pass

    def log_metrics(self, step: int, metrics: Mapping[str, float]) -> None:
        pass

    def log_files(self, paths: Sequence[str], folder: str = "") -> None:
        pass

    def end(self, status: str = FINISHED, tags: Mapping[str, str] | None = None) -> None:
        pass


NO_TRACKING = NoTracking()


def evaluation_metrics(result: EvaluationResult, final: bool = False) -> dict[str, float]:
    """An evaluation's scores, its classes' (of several) and its thresholds' as metrics of its
    split; the closing scores of a split that was also scored during training (`final`) apart:
    `final_validation/`, as they repeat a step at another decision."""
    classes = [(name, scores.as_dict()) for _, name, scores in result.per_class] if len(result.per_class) > 1 else []
    thresholds = [(threshold, scores.as_dict()) for threshold, scores in result.threshold_scores]
    split = f"final_{result.split}" if final and result.split != "test" else result.split
    return score_metrics(split, result.scores.as_dict(), classes, thresholds)


class TrackedRun:
    """Runs one command's use case inside the model_dir's tracked run: starts (or continues) it
    with the resolved configuration before the work is even built (the tracker's start-up then
    overlaps the framework's), and however the work ends, logs the run's files that exist and
    ends it (KILLED by a signal, FAILED by an error) tagged with the machine. `outputs`: (path,
    folder in the run) of the files to log at the end; `probe`: the machine, for `unet info`'s
    CPU and GPU lines, read once the work has set up its devices (None: not recorded, as for an
    export made on another machine); `report`: draws report.png (`unet report`) when the work
    succeeded, before the files are logged; `keeps_status`: see RunTracker.start."""

    def __init__(self, tracker: RunTracker, params: Mapping[str, Any], outputs: Sequence[tuple[str, str]] = (),
                 probe: MachineProbe | None = None, report: Callable[[], object] | None = None,
                 keeps_status: bool = False) -> None:
        self._tracker = tracker
        self._params = params
        self._outputs = tuple(outputs)
        self._probe = probe
        self._report = report  # draws report.png from the run's summaries, to be logged with the rest
        self._keeps_status = keeps_status

    def execute(self, work: Callable[[], Result]) -> Result:
        if not self._tracker.active:
            return work()
        self._tracker.start(run_params(self._params), self._keeps_status)
        status = FAILED
        try:
            result = work()
            status = FINISHED
            return result
        except (KeyboardInterrupt, TrainingInterrupted):
            status = KILLED
            raise
        finally:
            if status == FINISHED and self._report is not None:
                with contextlib.suppress(UnetError):  # a mode that wrote no summaries (a benchmark) has none
                    self._report()
            folders: dict[str, list[str]] = {}
            for path, folder in self._outputs:
                folders.setdefault(folder, []).append(path)
            for folder, paths in folders.items():
                self._tracker.log_files(paths, folder)
            self._tracker.end(status, self._machine_tags())

    def _machine_tags(self) -> dict[str, str]:
        if self._probe is None:
            return {}
        try:
            facts = self._probe.facts(extras=False)
        except Exception:  # a framework that failed the work fails here too: its error is the one to show
            return {}
        return {"machine.cpu": cpu_line(facts), "machine.gpus": gpu_line(facts)}
