"""Run-length encoding of masks as Kaggle's Severstal data uses it.

`start length` pairs, starts 1-based, pixels numbered down each column first (column-major).
Decoding validates every run: a malformed string raises ValueError with the reason, never
returns a silently wrong mask.
"""

from __future__ import annotations

import numpy as np

SEVERSTAL_SHAPE = (256, 1600)


def decode(encoded: str, shape: tuple[int, int] = SEVERSTAL_SHAPE) -> np.ndarray:
    """A boolean (height, width) mask from an RLE string ('' or whitespace: no defect)."""
    height, width = shape
    size = height * width
    tokens = encoded.split()
    if len(tokens) % 2:
        raise ValueError(f"odd number of values ({len(tokens)}): RLE needs start/length pairs")
    try:
        numbers = [int(token) for token in tokens]
    except ValueError:
        bad = next(t for t in tokens if not t.lstrip("-").isdigit())
        raise ValueError(f"{bad!r} is not an integer") from None
    flat = np.zeros(size, dtype=bool)
    previous_end = 0  # 1-based position after the previous run
    for index in range(0, len(numbers), 2):
        start, length = numbers[index], numbers[index + 1]
        if start < 1:
            raise ValueError(f"run {index // 2 + 1}: start {start} < 1 (starts are 1-based)")
        if length < 1:
            raise ValueError(f"run {index // 2 + 1}: length {length} < 1")
        if start < previous_end:
            raise ValueError(f"run {index // 2 + 1}: start {start} overlaps or precedes the previous run")
        end = start + length - 1
        if end > size:
            raise ValueError(f"run {index // 2 + 1}: ends at pixel {end}, past the {size} pixels of {height}x{width}")
        flat[start - 1 : end] = True
        previous_end = end + 1
    return flat.reshape((width, height)).T


def encode(mask: np.ndarray) -> str:
    """The RLE string of a boolean (height, width) mask; '' when it is empty."""
    flat = np.asarray(mask, dtype=bool).T.reshape(-1)
    padded = np.concatenate([[False], flat, [False]])
    changes = np.flatnonzero(padded[1:] != padded[:-1]) + 1
    starts, ends = changes[0::2], changes[1::2]
    return " ".join(f"{start} {end - start}" for start, end in zip(starts, ends))


def run_lengths_total(encoded: str) -> int:
    """The sum of the run lengths: the mask area a valid RLE string describes."""
    return sum(int(t) for t in encoded.split()[1::2])
