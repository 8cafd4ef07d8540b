"""Charts drawn with matplotlib (headless), written atomically as PNG."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from unet_defects.adapters import summary_tags
from unet_defects.adapters.artifacts import TEST_FOLDER
from unet_defects.adapters.figures import pyplot, save_figure
from unet_defects.application.values import ChartPanel, RunScalars


class MatplotlibRenderer:
    def draw(self, path: str, title: str, panels: Sequence[ChartPanel]) -> str:
        figure, axes = pyplot().subplots(len(panels), 1, figsize=(8, 3.2 * len(panels)), squeeze=False)
        for axis, panel in zip(axes[:, 0], panels):
            for label, points in panel.lines:
                xs, ys = zip(*points)
                axis.plot(xs, ys, marker="o" if len(points) < 30 else None, markersize=3, label=label)
            axis.set_title(panel.title)
            axis.set_xlabel(panel.x_label)
            axis.grid(alpha=0.3)
            axis.legend(fontsize="small")
        figure.suptitle(title)
        figure.tight_layout()
        return save_figure(figure, path)


class TensorBoardHistory:
    """A model_dir's event files: training summaries at its top, evaluation ones in eval/."""

    def __init__(self, model_dir: str) -> None:
        self._model_dir = Path(model_dir)

    def scalars(self) -> RunScalars:
        from unet_defects.adapters.tensorboard_events import read_scalars

        training = {tag: tuple(series) for tag, series in read_scalars(self._model_dir).items()}
        evaluation, by_threshold = self._scores(self._model_dir / "eval")
        test, _ = self._scores(self._model_dir / "eval" / TEST_FOLDER)
        return RunScalars(training=training, evaluation=evaluation, by_threshold=by_threshold, test=test)

    @staticmethod
    def _scores(folder: Path) -> tuple[dict[str, tuple], dict[float, dict[str, tuple]]]:
        from unet_defects.adapters.tensorboard_events import read_scalars

        scores: dict[str, tuple] = {}
        by_threshold: dict[float, dict[str, tuple]] = {}
        for tag, series in read_scalars(folder).items():
            parsed = summary_tags.parse(tag)
            if parsed is None:
                continue
            threshold, name = parsed
            if threshold is None:
                scores[name] = tuple(series)
            else:
                by_threshold.setdefault(threshold, {})[name] = tuple(series)
        return scores, by_threshold
