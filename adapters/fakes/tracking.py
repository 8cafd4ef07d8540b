"""FakeRunTracker: a RunTracker that keeps what a tracked run would send, in memory."""

from __future__ import annotations

from collections.abc import Mapping, Sequence


class FakeRunTracker:
    active = True

    def __init__(self, fail_on_metrics: str | None = None) -> None:
        self.params: dict[str, str] = {}
        self.tags: dict[str, str] = {}
        self.metrics: list[tuple[int, str, float]] = []  # (step, name, value) in the order logged
        self.files: list[tuple[str, str]] = []  # (path, folder)
        self.status: str | None = None  # set by end
        self.started = False
        self.keeps_status = False
        self._fail_on_metrics = fail_on_metrics  # a store that went away: raised by log_metrics

    def start(self, params: Mapping[str, str], keeps_status: bool = False) -> None:
        self.started = True
        self.keeps_status = keeps_status
        self.params.update(params)

    def log_metrics(self, step: int, metrics: Mapping[str, float]) -> None:
        if self._fail_on_metrics is not None:
            from unet_defects.domain.errors import UnetError

            raise UnetError(self._fail_on_metrics)
        if self.started:
            self.metrics += [(step, name, value) for name, value in metrics.items()]

    def log_files(self, paths: Sequence[str], folder: str = "") -> None:
        if self.started:
            self.files += [(path, folder) for path in paths]

    def end(self, status: str = "FINISHED", tags: Mapping[str, str] | None = None) -> None:
        self.status = None if self.keeps_status else status
        self.tags.update(tags or {})

    def history(self, name: str) -> list[tuple[int, float]]:
        """(step, value) of one metric, in the order logged."""
        return [(step, value) for step, metric, value in self.metrics if metric == name]
