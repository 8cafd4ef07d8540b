"""An evaluation's pictures, drawn with matplotlib: precision-recall curves, precision, recall
and F1 against the threshold, the part-level confusion matrices, and the worst images."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from unet_defects.adapters.figures import pyplot, save_figure
from unet_defects.application.evaluation_pictures import EvaluationPictures, PartColumn
from unet_defects.application.worst_images import Tile
from unet_defects.domain.curves import Curve, part_curve, pixel_curve
from unet_defects.domain.operating_point import OperatingPoint
from unet_defects.domain.part_score import SCORE_WORDS

TRUTH_COLOUR, PREDICTION_COLOUR = "#1fbf3f", "#e8202a"
MOSAIC_COLUMNS = 4


def _columns(pictures: EvaluationPictures) -> tuple[PartColumn, ...]:
    return (pictures.part, *pictures.classes)


def _curves(column: PartColumn) -> tuple[Curve | None, Curve | None]:
    pixels = None if column.histogram is None else pixel_curve(column.histogram)
    return pixels, part_curve(column.scores, column.truth)


def _no_curve(axis: Any, why: str) -> None:
    axis.text(0.5, 0.5, why, ha="center", va="center", wrap=True, transform=axis.transAxes)
    axis.set_xticks([])
    axis.set_yticks([])


def _operating(column: PartColumn) -> OperatingPoint:
    return OperatingPoint.of(column.truth, column.flagged)


def _why_none(column: PartColumn, pixels: bool) -> str:
    if pixels:
        return "no pixel histogram\n(an evaluation of an older version)"
    if any(score is None for score in column.scores):
        return "not every image has a part score"
    return "no defective part among these images:\nno recall to plot"


def draw_pr_curves(pictures: EvaluationPictures, path: Path) -> str:
    """Precision against recall, pixels on the left, parts on the right, a row per class."""
    columns = _columns(pictures)
    figure, axes = pyplot().subplots(len(columns), 2, figsize=(11, 4.2 * len(columns)), squeeze=False)
    for row, column in zip(axes, columns):
        for axis, curve, pixels in zip(row, _curves(column), (True, False)):
            kind = "pixels" if pixels else f"parts, ranked by {SCORE_WORDS.get(pictures.score_name, 'the part score')}"
            axis.set_title(f"{column.name}: {kind}", fontsize="medium")
            if curve is None or not curve.positives:
                _no_curve(axis, _why_none(column, pixels))
                continue
            axis.plot(curve.recall, curve.precision, drawstyle="steps-post" if not pixels else "default",
                      label=f"precision-recall (AP {curve.average_precision:.3f})")
            threshold = column.pixel_threshold if pixels else column.part_threshold
            if threshold is not None:
                precision, recall, _ = curve.at(threshold)
                axis.plot([recall], [precision], "o", color="black", label=f"threshold {threshold:g}")
            if not pixels:
                point = _operating(column)
                flagged = point.found + point.stopped
                if point.recall is not None and flagged:
                    axis.plot([point.recall], [point.found / flagged], "*", markersize=12, color=PREDICTION_COLOUR,
                              label="the decision's verdicts")
            axis.set_xlabel("recall")
            axis.set_ylabel("precision")
            axis.set_xlim(-0.02, 1.02)
            axis.set_ylim(-0.02, 1.02)
            axis.grid(alpha=0.3)
            axis.legend(loc="lower left", fontsize="small")
    figure.suptitle(f"Precision-recall, {pictures.title}")
    figure.tight_layout()
    return save_figure(figure, path)


def draw_threshold_curves(pictures: EvaluationPictures, path: Path) -> str:
    """Precision, recall and F1 against the threshold, pixels and parts, the decision's marked."""
    columns = _columns(pictures)
    figure, axes = pyplot().subplots(len(columns), 2, figsize=(11, 4.2 * len(columns)), squeeze=False)
    for row, column in zip(axes, columns):
        for axis, curve, pixels in zip(row, _curves(column), (True, False)):
            axis.set_title(f"{column.name}: {'pixels' if pixels else 'parts'}", fontsize="medium")
            if curve is None or not curve.positives:
                _no_curve(axis, _why_none(column, pixels))
                continue
            style = "steps-post" if not pixels else "default"
            for values, label in ((curve.precision, "precision"), (curve.recall, "recall"), (curve.f1, "F1")):
                axis.plot(curve.thresholds, values, drawstyle=style, label=label)
            threshold = column.pixel_threshold if pixels else column.part_threshold
            if threshold is not None:
                axis.axvline(threshold, color="black", linestyle="--", label=f"the decision's threshold {threshold:g}")
            best = int(np.argmax(curve.f1))
            axis.plot([curve.thresholds[best]], [curve.f1[best]], "o", color="grey",
                      label=f"best F1 {curve.f1[best]:.3f} at {curve.thresholds[best]:.3g}")
            axis.set_xlabel("probability threshold" if pixels else
                            f"threshold on {SCORE_WORDS.get(pictures.score_name, 'the part score')}")
            axis.set_ylim(-0.02, 1.02)
            axis.grid(alpha=0.3)
            axis.legend(loc="lower left", fontsize="small")
    figure.suptitle(f"Precision, recall and F1 against the threshold, {pictures.title}")
    figure.tight_layout()
    return save_figure(figure, path)


def _matrices(pictures: EvaluationPictures) -> list[tuple[str, OperatingPoint]]:
    """The part's matrix at the decision in force; with a classifier head, the segmentation rule's
    and the gate's apart (the one in force said); then each class's at the decision in force."""
    part = pictures.part
    if part.rule_flagged and part.gate_flagged:
        in_force = " (in force)"
        shown = [(f"{part.name}: the segmentation rule{'' if pictures.gated else in_force}",
                  OperatingPoint.of(part.truth, part.rule_flagged)),
                 (f"{part.name}: the classifier gate{in_force if pictures.gated else ''}",
                  OperatingPoint.of(part.truth, part.gate_flagged))]
    else:
        shown = [(f"{part.name}: the decision", _operating(part))]
    return shown + [(f"{column.name}: the decision", _operating(column)) for column in pictures.classes]


def draw_confusion(pictures: EvaluationPictures, path: Path) -> str:
    """The parts' 2x2 matrix at the decision in force (and the rule alone, with a head), per class."""
    shown = _matrices(pictures)
    columns = min(len(shown), 3)
    rows = -(-len(shown) // columns)
    figure, axes = pyplot().subplots(rows, columns, figsize=(4.6 * columns, 4.2 * rows), squeeze=False)
    for axis in axes.flat[len(shown):]:
        axis.axis("off")
    for axis, (title, point) in zip(axes.flat, shown):
        cells = np.array([[point.good - point.stopped, point.stopped],
                          [point.defective - point.found, point.found]])
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
    figure.suptitle(f"Part verdicts, {pictures.title}\n({pictures.decision})", fontsize="medium")
    figure.tight_layout()
    return save_figure(figure, path)


def draw_mosaic(tiles: Sequence[Tile], figure_name: str, title: str, path: Path) -> str:
    """The tiles: each image in gray, the truth outlined in green, the prediction in red, with its
    name and the figure it was chosen by."""
    plt = pyplot()
    if not tiles:
        figure, axis = plt.subplots(figsize=(8, 2))
        _no_curve(axis, f"no image to show: {title.split(',')[0].lower()}")
        figure.suptitle(title)
        return save_figure(figure, path)
    columns = min(len(tiles), MOSAIC_COLUMNS)
    rows = -(-len(tiles) // columns)
    figure, axes = plt.subplots(rows, columns, figsize=(3.6 * columns, 4.3 * rows), squeeze=False)
    for axis in axes.flat:
        axis.axis("off")
    for axis, tile in zip(axes.flat, tiles):
        picture = tile.picture
        axis.imshow(picture.image, cmap="gray", vmin=0, vmax=255, interpolation="nearest")
        for mask, colour in ((picture.truth, TRUTH_COLOUR), (picture.prediction, PREDICTION_COLOUR)):
            if mask.any() and not mask.all():
                axis.contour(mask.astype(np.float32), levels=[0.5], colors=[colour], linewidths=1.2)
        axis.set_title(f"{tile.name[-34:]}\n{figure_name} {tile.figure:.3f}", fontsize="small")
    figure.suptitle(f"{title}\n(green: truth, red: prediction)", fontsize="medium")
    figure.tight_layout()
    return save_figure(figure, path)


def draw_all(pictures: EvaluationPictures, folder: Path) -> list[str]:
    return [
        draw_pr_curves(pictures, folder / "pr_curves.png"),
        draw_threshold_curves(pictures, folder / "threshold_curves.png"),
        draw_confusion(pictures, folder / "confusion.png"),
        draw_mosaic(pictures.worst_dice, "Dice", f"Lowest per-image defect Dice, {pictures.title}",
                    folder / "worst_dice.png"),
        draw_mosaic(pictures.false_alarms, "score", f"Highest-scored good parts (false alarms), {pictures.title}",
                    folder / "false_alarms.png"),
    ]
