"""Holding a validation part out of the training images, stratified, and reading a defect type
from a file name.

Stratified: good and defective images (and each defect type the names carry) are held out in
the same share, so that a rare type is in both parts and the validation scores are not the
luck of one draw.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Hashable, Sequence

import numpy as np

_TOKEN = re.compile(r"[^_\-. ]+")
# A name's leading words make a type when the listing has between these many of them.
MIN_TYPES, MAX_TYPES = 2, 20


def name_prefix(stem: str) -> str:
    """The words of a file stem before the first one with a digit: `MT_Blowhole_exp1_num_3667`
    -> `MT_Blowhole`, `0001` -> ``."""
    words = []
    for word in _TOKEN.findall(stem):
        if any(ch.isdigit() for ch in word):
            break
        words.append(word)
    return "_".join(words)


def types_from_names(stems: Sequence[str]) -> list[str] | None:
    """Each stem's type when the names carry one (2 to 20 distinct prefixes, each shared by at
    least two files), else None."""
    prefixes = [name_prefix(stem) for stem in stems]
    counts: dict[str, int] = defaultdict(int)
    for prefix in prefixes:
        counts[prefix] += 1
    if not MIN_TYPES <= len(counts) <= MAX_TYPES or min(counts.values()) < 2 or "" in counts:
        return None
    return prefixes


def stratified_split(strata: Sequence[Hashable], share: float, seed: int | None) -> tuple[list[int], list[int]]:
    """(kept, held out) indices, in listing order: `share` of every stratum held out (rounded,
    at least one from each stratum of two or more), both sides non-empty."""
    if len(strata) < 2:
        raise ValueError("a split needs at least two items")
    rng = np.random.default_rng(0 if seed is None else seed)
    groups: dict[Hashable, list[int]] = defaultdict(list)
    for index, stratum in enumerate(strata):
        groups[stratum].append(index)
    held: list[int] = []
    for stratum in sorted(groups, key=repr):
        members = groups[stratum]
        count = int(round(share * len(members)))
        if len(members) >= 2:
            count = min(max(count, 1), len(members) - 1)
        else:
            count = 0
        held += [members[i] for i in rng.permutation(len(members))[:count]]
    if not held:  # every stratum a single item: hold one out all the same
        held = [int(rng.integers(len(strata)))]
    if len(held) == len(strata):
        held = held[1:]
    chosen = set(held)
    return [i for i in range(len(strata)) if i not in chosen], sorted(chosen)
