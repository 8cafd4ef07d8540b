"""What `unet report`'s page holds (plain values) and the ports it is read and written through."""

from __future__ import annotations

from typing import Protocol

import attrs

Rows = tuple[tuple[str, str], ...]  # (what, its value as shown)


@attrs.frozen
class RunRecords:
    """A model_dir's text records, None (or "") where absent."""

    params: str = ""  # params.yaml as written
    results: dict | None = None  # eval/results.json
    calibration: dict | None = None  # calibration.json


@attrs.frozen
class Picture:
    title: str
    caption: str  # what it shows and how to read it
    png: bytes


@attrs.frozen
class PictureSet:
    """One evaluation folder's pictures."""

    heading: str
    pictures: tuple[Picture, ...]


@attrs.frozen
class ScoreLine:
    name: str
    value: float | None
    meaning: str


@attrs.frozen
class CalibrationSummary:
    """One class's calibrated decision: the search's evidence, each score before and after it."""

    label: str  # the class's name, "" for the one class
    decision: Rows
    chosen_on: str
    comparison: tuple[tuple[str, str, str], ...]  # (score, before, after)


@attrs.frozen
class ReportPage:
    title: str
    configuration: Rows
    plan: Rows  # empty when `unet plan` did not make the run
    params: str  # params.yaml's text, "" when absent
    curves: Picture | None
    pictures: tuple[PictureSet, ...]
    decision: str  # as the evaluation recorded it, "" before any
    calibrations: tuple[CalibrationSummary, ...]
    calibration_method: str
    line: str  # what the decision gets on the line, in counts, "" when not measured
    scores_heading: str  # which evaluation the scores are of, "" before any
    scores: tuple[ScoreLine, ...]


class RunFiles(Protocol):
    def records(self) -> RunRecords:
        """The model_dir's params.yaml, latest results and calibration, read."""

    def picture(self, name: str, split: str | None = None) -> bytes | None:
        """A PNG's bytes, None when absent: in the evaluation folder of `split` ("test" or
        "validation"), or without one the model_dir's own (a path outside it as given)."""


class PageWriter(Protocol):
    def write(self, path: str, page: ReportPage) -> str:
        """The page as one self-contained file at `path`; return the path written."""
