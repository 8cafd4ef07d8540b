"""The validation part's strata, and the sample of it that the evaluations during training score
(`train_input.validation_sample`)."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Hashable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from unet_defects.domain.splitting import types_from_names

if TYPE_CHECKING:
    from unet_defects.adapters.datasets.file_reader import CheckedFile


def validation_strata(samples: list, checked: list[CheckedFile], classes: int = 1) -> list[tuple]:
    """Each sample's stratum: defective or good, its type when the file names carry types, and
    with several classes its rarest class (-1: none), so that each class of two images or more
    lands in both parts. Not its whole set of classes: multi-label masks splinter into sets of
    one image each, and a stratum of one holds nothing out."""
    types = types_from_names([Path(sample.image).stem for sample in samples]) or [""] * len(samples)
    strata: list[tuple] = [(found.defective, kind) for found, kind in zip(checked, types)]
    if classes < 2:
        return strata
    counts = Counter(channel for found in checked for channel in found.classes)
    rarest = [min(found.classes, key=lambda channel: (counts[channel], channel), default=-1) for found in checked]
    return [stratum + (rare,) for stratum, rare in zip(strata, rarest)]


def curve_sample(strata: Sequence[Hashable], count: int, seed: int | None) -> list[int]:
    """`count` indices (or one a stratum, when there are more strata), drawn from every stratum
    in proportion and at least one from each (a rare class's one validation image too), in a
    seeded order: the first few are as mixed as the whole, so timing them (unet plan) times the
    part. All of them, in order, when `count` covers them."""
    if count >= len(strata):
        return list(range(len(strata)))  # the whole part, in its order
    rng = np.random.default_rng(0 if seed is None else seed)
    groups: dict[Hashable, list[int]] = defaultdict(list)
    for index, stratum in enumerate(strata):
        groups[stratum].append(index)
    keys = sorted(groups, key=repr)
    quotas = apportion([len(groups[key]) for key in keys], count)
    picked = [index for key, quota in zip(keys, quotas) for index in rng.permutation(groups[key])[:quota]]
    return [int(picked[i]) for i in rng.permutation(len(picked))]


def apportion(sizes: Sequence[int], count: int) -> list[int]:
    """Quotas summing to `count` (at least one each, at most a group's size): one a group first,
    then the rest by largest remainder of each group's share of what is left."""
    quotas = [1] * len(sizes)
    left = count - len(sizes)
    if left <= 0:
        return quotas
    room = [size - 1 for size in sizes]
    wanted = [left * r / max(sum(room), 1) for r in room]
    extra = [int(w) for w in wanted]
    order = sorted(range(len(sizes)), key=lambda i: wanted[i] - extra[i], reverse=True)
    for i in order[:left - sum(extra)]:
        extra[i] += 1
    return [q + min(e, r) for q, e, r in zip(quotas, extra, room)]
