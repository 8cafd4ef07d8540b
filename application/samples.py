"""Choosing the sample pictures of an evaluation in one pass over any number of images."""

from __future__ import annotations

import random
from collections.abc import Callable

from unet_defects.application.values import SamplePicture, built_once


class SampleKeeper:
    """Keeps the best and the worst image by per-image Dice, and a seeded reservoir of the
    others from which the typical (median) image is chosen. Memory stays bounded however
    many images are evaluated; pictures are only built for the images kept."""

    def __init__(self, reservoir: int = 16, seed: int = 0) -> None:
        self._capacity = reservoir
        self._rng = random.Random(seed)
        self._best: tuple[float, SamplePicture] | None = None
        self._worst: tuple[float, SamplePicture] | None = None
        self._reservoir: list[tuple[float, SamplePicture]] = []
        self._seen = 0

    def offer(self, index: int, dice: float, picture: Callable[[], SamplePicture]) -> None:
        get = built_once(picture)
        if self._best is None or dice > self._best[0]:
            self._best = (dice, get())
        if self._worst is None or dice < self._worst[0]:
            self._worst = (dice, get())
        self._seen += 1
        if len(self._reservoir) < self._capacity:
            self._reservoir.append((dice, get()))
        else:
            slot = self._rng.randrange(self._seen)
            if slot < self._capacity:
                self._reservoir[slot] = (dice, get())

    def chosen(self) -> tuple[SamplePicture, ...]:
        """Best, worst and typical, without repeats (fewer when there are fewer images)."""
        picks: list[SamplePicture] = []
        if self._best is not None and self._worst is not None:
            ranked = sorted(self._reservoir, key=lambda item: (item[0], item[1].index))
            typical = ranked[len(ranked) // 2][1]
            for picture in (self._best[1], self._worst[1], typical):
                if all(picture.index != other.index for other in picks):
                    picks.append(picture)
        return tuple(picks)
