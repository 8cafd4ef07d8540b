"""Fakes of the review loop's ports: the proposals written and the ranking's files, kept in memory."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


class FakeProposalWriter:
    """Keeps each image's name and (H, W, K) shape; `opened` with the arguments of ProposalsOpener."""

    def __init__(self, formats: Sequence[str] = ("coco",), output: str = "out",
                 class_names: Sequence[str] = ("defect",)) -> None:
        self.formats, self.output, self.class_names = tuple(formats), output, tuple(class_names)
        self.added: list[tuple[str, tuple[int, ...]]] = []
        self.closed = False

    def add(self, name: str, image_file: str, masks: np.ndarray, probabilities: np.ndarray) -> list[str]:
        self.added.append((name, tuple(masks.shape)))
        return [f"{self.output}/{name}.json"]

    def close(self) -> list[str]:
        self.closed = True
        return [f"{self.output}/proposals.json"]


class FakeReviewWriter:
    """Keeps the rows and what ranked them."""

    def __init__(self) -> None:
        self.rows: list[dict] = []
        self.about: dict = {}

    def write(self, output: str, name: str, rows: Sequence[dict], about: dict) -> list[str]:
        self.rows, self.about = list(rows), dict(about)
        return [f"{output}/{name}.json", f"{output}/{name}.csv"]
