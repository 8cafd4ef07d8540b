"""Use case: one picture of a run, the training loss and the evaluation scores over steps."""

from __future__ import annotations

from pathlib import Path

import attrs

from application.ports import ChartPanel, ChartRenderer, RunHistory
from domain.errors import DataError

EVAL_SCORES = ("mIOU", "DSC", "defect_IoU", "defect_Dice", "per_image_Dice")


@attrs.frozen
class ReportOutcome:
    path: str
    panels: tuple[str, ...]


class ReportUseCase:
    def __init__(self, history: RunHistory, renderer: ChartRenderer, model_dir: str) -> None:
        self._history = history
        self._renderer = renderer
        self._model_dir = model_dir

    def execute(self, output: str | None = None) -> ReportOutcome:
        train, evaluation = self._history.scalars("train"), self._history.scalars("eval")
        panels: list[ChartPanel] = []
        if "loss" in train:
            panels.append(ChartPanel("training loss", "step", (("loss", _points(train["loss"])),)))
        scores = tuple((name, _points(evaluation[f"eval/{name}"])) for name in EVAL_SCORES
                       if f"eval/{name}" in evaluation)
        if scores:
            panels.append(ChartPanel("evaluation scores", "step", scores))
        by_threshold = self._last_step_by_threshold(evaluation)
        if by_threshold:
            panels.append(ChartPanel(f"scores at the last evaluation by threshold (step {by_threshold[0]})",
                                     "probability threshold", by_threshold[1]))
        if not panels:
            raise DataError(f"{self._model_dir}: no training or evaluation summaries found; train first")
        path = output or str(Path(self._model_dir) / "report.png")
        written = self._renderer.draw(path, f"UNet run {self._model_dir}", panels)
        return ReportOutcome(written, tuple(panel.title for panel in panels))

    @staticmethod
    def _last_step_by_threshold(evaluation: dict) -> tuple[int, tuple] | None:
        """Tags `eval_at_<t>/<score>`: each score's curve over t at the latest step."""
        curves: dict[str, list[tuple[float, float]]] = {}
        last = max((series[-1][0] for tag, series in evaluation.items() if tag.startswith("eval_at_")), default=None)
        if last is None:
            return None
        for tag, series in evaluation.items():
            if not tag.startswith("eval_at_"):
                continue
            threshold, _, score = tag[len("eval_at_"):].partition("/")
            value = dict(series).get(last)
            if score in ("defect_IoU", "defect_Dice", "per_image_Dice") and value is not None:
                curves.setdefault(score, []).append((float(threshold), value))
        lines = tuple((score, tuple(sorted(points))) for score, points in sorted(curves.items()) if len(points) > 1)
        return (last, lines) if lines else None


def _points(series: list[tuple[int, float]]) -> tuple[tuple[float, float], ...]:
    return tuple((float(step), value) for step, value in series)
