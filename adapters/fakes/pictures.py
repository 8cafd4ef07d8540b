"""A picture writer that keeps what it was asked to draw."""

from __future__ import annotations

from typing import Any


class FakePictureWriter:
    def __init__(self) -> None:
        self.written: list[Any] = []  # each evaluation's EvaluationPictures, in order
        self.redrawn = 0

    def write(self, pictures: Any) -> list[str]:
        self.written.append(pictures)
        return [f"{pictures.split}/pictures-{len(self.written)}"]

    def redraw(self) -> list[str]:
        self.redrawn += 1
        return [f"{pictures.split}/pictures" for pictures in self.written[-1:]]
