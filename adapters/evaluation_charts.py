"""An evaluation's pictures, drawn with matplotlib: precision-recall curves, precision, recall
and F1 against the threshold, the part-level confusion matrices, and the worst images."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from unet_defects.adapters.figures import pyplot, save_figure
from unet_defects.adapters.mosaic import PREDICTION, draw_mosaic
from unet_defects.application.evaluation_pictures import EvaluationPictures, PartColumn
from unet_defects.domain.curves import Curve, part_curve, pixel_curve
from unet_defects.domain.operating_point import OperatingPoint
from unet_defects.domain.part_score import SCORE_WORDS

PREDICTION_COLOUR = "#{:02x}{:02x}{:02x}".format(*PREDICTION)  # the mosaics' prediction outline


def _columns(pictures: EvaluationPictures) -> tuple[PartColumn, ...]:
    return (pictures.part, *pictures.classes)


def _grid(rows: int, columns: int, width: float, height: float, left: float = 0.85, across: float = 0.9,
          top: float = 0.85) -> tuple[Any, Any]:
    """A figure of rows x columns axes, each `width` x `height` inches, with `left` and `across`
    inches for the labels and ticks left of each and a band of `top` inches for the figure's
    title. Fixed margins, not tight_layout: measuring every label first doubles the drawing time."""
    right, bottom, down = 0.25, 0.6, 0.95  # inches
    figure_width = left + right + columns * width + (columns - 1) * across
    figure_height = top + bottom + rows * height + (rows - 1) * down
    figure, axes = pyplot().subplots(rows, columns, figsize=(figure_width, figure_height), squeeze=False)
    figure.subplots_adjust(left=left / figure_width, right=1 - right / figure_width, top=1 - top / figure_height,
                           bottom=bottom / figure_height, wspace=across / width, hspace=down / height)
    return figure, axes


def _title(figure: Any, text: str) -> None:
    """The figure's title in the band _grid leaves above the axes' titles, however tall the figure."""
    figure.suptitle(text, y=1 - 0.12 / figure.get_figheight(), va="top", fontsize="large")


def _curves(column: PartColumn) -> tuple[Curve | None, Curve | None]:
    pixels = None if column.histogram is None else pixel_curve(column.histogram)
    return pixels, part_curve(column.scores, column.truth)


def _no_curve(axis: Any, why: str) -> None:
    axis.text(0.5, 0.5, why, ha="center", va="center", wrap=True, transform=axis.transAxes)
    axis.set_xticks([])
    axis.set_yticks([])


def score_words(pictures: EvaluationPictures) -> str:
    return SCORE_WORDS.get(pictures.score_name, "the part score")


def _operating(column: PartColumn) -> OperatingPoint:
    return OperatingPoint.of(column.truth, column.flagged)


def _at_decision(column: PartColumn, pixels: bool) -> tuple[float, float, float] | None:
    """(precision, recall, F1) of the decision in force: the pixels it keeps (after min_area and
    the gate), or the parts' verdicts; None when it flags nothing or nothing is defective."""
    if pixels:
        tp, fp, fn = column.pixel_counts
        found, flagged, positives = tp, tp + fp, tp + fn
    else:
        point = _operating(column)
        found, flagged, positives = point.found, point.found + point.stopped, point.defective
    if not flagged or not positives:
        return None
    precision, recall = found / flagged, found / positives
    return precision, recall, (2 * precision * recall / (precision + recall) if found else 0.0)


def _why_none(column: PartColumn, pixels: bool) -> str:
    if pixels:
        return "no pixel histogram\n(an evaluation of an older version)"
    if any(score is None for score in column.scores):
        return "not every image has a part score"
    return "no defective part among these images:\nno recall to plot"


def draw_pr_curves(pictures: EvaluationPictures, path: Path) -> str:
    """Precision against recall, pixels on the left, parts on the right, a row per class."""
    columns = _columns(pictures)
    figure, axes = _grid(len(columns), 2, 4.6, 3.3)
    for row, column in zip(axes, columns):
        for axis, curve, pixels in zip(row, _curves(column), (True, False)):
            kind = "pixels" if pixels else f"parts, ranked by {score_words(pictures)}"
            axis.set_title(f"{column.name}: {kind}", fontsize="medium")
            if curve is None or not curve.positives:
                _no_curve(axis, _why_none(column, pixels))
                continue
            if pixels:
                axis.plot(curve.recall, curve.precision, label=f"precision-recall (AP {curve.average_precision:.3f})")
            else:  # each recall step at the precision the AP weighs it by (its upper end's)
                axis.plot(np.concatenate([[0.0], curve.recall]), np.concatenate([curve.precision[:1], curve.precision]),
                          drawstyle="steps-pre", label=f"precision-recall (AP {curve.average_precision:.3f})")
            threshold = column.pixel_threshold if pixels else column.part_threshold
            if threshold is not None:
                precision, recall, _ = curve.at(threshold)
                alone = "the threshold alone" if pixels else "a threshold"
                axis.plot([recall], [precision], "o", color="black", label=f"{alone} at {threshold:g}")
            decided = _at_decision(column, pixels)
            if decided is not None:
                axis.plot([decided[1]], [decided[0]], "*", markersize=12, color=PREDICTION_COLOUR,
                          label="the decision in force")
            axis.set_xlabel("recall")
            axis.set_ylabel("precision")
            axis.set_xlim(-0.02, 1.02)
            axis.set_ylim(-0.02, 1.02)
            axis.grid(alpha=0.3)
            axis.legend(loc="lower left", fontsize="small")
    _title(figure, f"Precision-recall, {pictures.title}")
    return save_figure(figure, path)


def draw_threshold_curves(pictures: EvaluationPictures, path: Path) -> str:
    """Precision, recall and F1 against the threshold, pixels and parts, the decision's marked;
    one legend for every panel, each panel's best F1 in its title."""
    columns = _columns(pictures)
    figure, axes = _grid(len(columns), 2, 4.6, 3.3, top=1.15)
    for row, column in zip(axes, columns):
        for axis, curve, pixels in zip(row, _curves(column), (True, False)):
            name = f"{column.name}: {'pixels' if pixels else 'parts'}"
            if curve is None or not curve.positives:
                axis.set_title(name, fontsize="medium")
                _no_curve(axis, _why_none(column, pixels))
                continue
            style = "steps-post" if not pixels else "default"
            # where a threshold flags nothing its precision is a convention, not a measurement
            precision = np.where(curve.flagged > 0, curve.precision, np.nan)
            for values, label in ((precision, "precision"), (curve.recall, "recall"), (curve.f1, "F1")):
                axis.plot(curve.thresholds, values, drawstyle=style, label=label)
            threshold = column.pixel_threshold if pixels else column.part_threshold
            if threshold is not None:
                axis.axvline(threshold, color="black", linestyle="--", label="the decision's threshold")
            best = int(np.argmax(curve.f1))
            axis.plot([curve.thresholds[best]], [curve.f1[best]], "o", color="grey", label="the best F1")
            decided = _at_decision(column, pixels)
            at = "" if decided is None else f"F1 {decided[2]:.3f} at the decision, "
            axis.set_title(f"{name}\n{at}best {curve.f1[best]:.3f} at {curve.thresholds[best]:.3g}", fontsize="medium")
            axis.set_xlabel("probability threshold" if pixels else f"threshold on {score_words(pictures)}")
            axis.set_ylim(-0.02, 1.02)
            axis.grid(alpha=0.3)
    handles = {label: handle for axis in axes.flat for handle, label in zip(*axis.get_legend_handles_labels())}
    figure.legend(handles.values(), handles.keys(), loc="upper center", ncol=len(handles), frameon=False,
                  bbox_to_anchor=(0.5, 1 - 0.45 / figure.get_figheight()))
    _title(figure, f"Precision, recall and F1 against the threshold, {pictures.title}")
    return save_figure(figure, path)


def _matrices(pictures: EvaluationPictures) -> list[list[tuple[str, OperatingPoint]]]:
    """Rows of matrices: the part's, then each class's. With a classifier head each row holds the
    segmentation rule's verdicts and the gate's apart (the one in force said); else the decision's."""
    rows = []
    for column in _columns(pictures):
        if column.rule_flagged and column.gate_flagged:
            rule, gate = ("", " (in force)") if pictures.gated else (" (in force)", "")
            rows.append([(f"{column.name}: the segmentation rule{rule}", OperatingPoint.of(column.truth, column.rule_flagged)),
                         (f"{column.name}: the classifier gate{gate}", OperatingPoint.of(column.truth, column.gate_flagged))])
        else:
            rows.append([(f"{column.name}: the decision", _operating(column))])
    return rows


def _matrix(axis: Any, title: str, point: OperatingPoint) -> None:
    cells = np.array([[point.good - point.stopped, point.stopped], [point.defective - point.found, point.found]])
    totals = cells.sum(axis=1, keepdims=True)
    shares = np.divide(cells, totals, out=np.zeros(cells.shape), where=totals > 0)
    axis.imshow(shares, cmap="Blues", vmin=0, vmax=1)
    for (i, j), count in np.ndenumerate(cells):
        axis.text(j, i, f"{count}\n{100 * shares[i, j]:.0f} % of row", ha="center", va="center",
                  color="white" if shares[i, j] > 0.6 else "black")
    axis.set_xticks([0, 1], ["called good", "called defective"])
    axis.set_yticks([0, 1], ["good part", "defective part"])
    axis.set_xlabel("the line's verdict")
    axis.set_ylabel("truth")
    axis.set_title(title, fontsize="medium")


def draw_confusion(pictures: EvaluationPictures, path: Path) -> str:
    """The parts' 2x2 matrices at the decision in force: the part's, then each class's; with a
    classifier head, the rule's and the gate's side by side in each row."""
    rows = _matrices(pictures)
    if max(len(row) for row in rows) == 1:  # one matrix a row: laid out three across
        flat = [row[0] for row in rows]
        rows = [flat[start:start + 3] for start in range(0, len(flat), 3)]
    columns = max(len(row) for row in rows)
    figure, axes = _grid(len(rows), columns, 3.3, 3.0, left=1.45, across=1.5)
    for axis_row, row in zip(axes, rows):
        for axis in axis_row[len(row):]:
            axis.axis("off")
        for axis, (title, point) in zip(axis_row, row):
            _matrix(axis, title, point)
    _title(figure, f"Part verdicts, {pictures.title}")
    return save_figure(figure, path)


def _alarms_title(pictures: EvaluationPictures) -> str:
    flagged = sum(bool(tile.flagged) for tile in pictures.false_alarms)
    alarms = f"{flagged} of them false alarms" if flagged else "none of them flagged"
    return f"Highest-scored good parts by {score_words(pictures)} ({alarms}), {pictures.title}"


def draw_all(pictures: EvaluationPictures, folder: Path) -> list[str]:
    return [
        draw_pr_curves(pictures, folder / "pr_curves.png"),
        draw_threshold_curves(pictures, folder / "threshold_curves.png"),
        draw_confusion(pictures, folder / "confusion.png"),
        draw_mosaic(pictures.worst_dice, "Dice", f"Lowest per-image defect Dice, {pictures.title}",
                    folder / "worst_dice.png"),
        draw_mosaic(pictures.false_alarms, "score", _alarms_title(pictures), folder / "false_alarms.png"),
    ]
