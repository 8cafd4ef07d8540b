"""Use case: one picture of a run, the training loss and the evaluation scores over steps."""

from __future__ import annotations

from pathlib import Path

import attrs

from unet_defects.application.ports import ChartRenderer, PictureWriter, RunHistory
from unet_defects.application.values import ChartPanel, Series
from unet_defects.domain.errors import DataError

EVAL_SCORES = ("mIOU", "DSC", "defect_IoU", "defect_Dice", "per_image_Dice", "image_AUROC")
THRESHOLD_SCORES = ("defect_IoU", "defect_Dice", "per_image_Dice")


@attrs.frozen
class ReportOutcome:
    path: str
    panels: tuple[str, ...]
    pictures: tuple[str, ...] = ()  # the evaluation pictures drawn again


class ReportUseCase:
    def __init__(self, history: RunHistory, renderer: ChartRenderer, model_dir: str,
                 pictures: PictureWriter | None = None) -> None:
        self._pictures = pictures  # each split's evaluation pictures, drawn again from what they kept
        self._history = history
        self._renderer = renderer
        self._model_dir = model_dir

    def execute(self, output: str | None = None) -> ReportOutcome:
        scalars = self._history.scalars()
        panels: list[ChartPanel] = []
        if "loss" in scalars.training:
            panels.append(ChartPanel("training loss", "step", (("loss", _points(scalars.training["loss"])),)))
        scores = tuple((name, _points(scalars.evaluation[name])) for name in EVAL_SCORES if name in scalars.evaluation)
        if scores and scalars.test:
            panels.append(ChartPanel("validation scores (they chose the checkpoint)", "step", scores))
            tested = tuple((name, _points(scalars.test[name])) for name in EVAL_SCORES if name in scalars.test)
            panels.append(ChartPanel("test scores (scored after training)", "step", tested))
        elif scores:
            panels.append(ChartPanel("evaluation scores", "step", scores))
        by_threshold = self._last_step_by_threshold(scalars.by_threshold)
        if by_threshold:
            panels.append(ChartPanel(f"scores at the last evaluation by threshold (step {by_threshold[0]})",
                                     "probability threshold", by_threshold[1]))
        if not panels:
            raise DataError(f"{self._model_dir}: no training or evaluation summaries found; train first")
        path = output or str(Path(self._model_dir) / "report.png")
        written = self._renderer.draw(path, f"UNet run {self._model_dir}", panels)
        pictures = tuple(self._pictures.redraw()) if self._pictures is not None else ()
        return ReportOutcome(written, tuple(panel.title for panel in panels), pictures)

    @staticmethod
    def _last_step_by_threshold(by_threshold: dict[float, dict[str, Series]]) -> tuple[int, tuple] | None:
        """Each defect score's curve over the thresholds, at the latest step any was written."""
        last = max((series[-1][0] for scores in by_threshold.values() for series in scores.values() if series),
                   default=None)
        if last is None:
            return None
        curves: dict[str, list[tuple[float, float]]] = {}
        for threshold, scores in by_threshold.items():
            for score, series in scores.items():
                value = dict(series).get(last)
                if score in THRESHOLD_SCORES and value is not None:
                    curves.setdefault(score, []).append((float(threshold), value))
        lines = tuple((score, tuple(sorted(points))) for score, points in sorted(curves.items()) if len(points) > 1)
        return (last, lines) if lines else None


def _points(series: Series) -> tuple[tuple[float, float], ...]:
    return tuple((float(step), value) for step, value in series)
