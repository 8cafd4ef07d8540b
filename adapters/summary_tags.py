"""The TensorBoard tag names of a run's evaluation scores: written by the artifact store,
read back by the run history, so both spell them from here."""

from __future__ import annotations

EVAL_PREFIX = "eval/"
THRESHOLD_PREFIX = "eval_at_"


def score_tag(name: str) -> str:
    return f"{EVAL_PREFIX}{name}"


def threshold_tag(threshold: float, name: str) -> str:
    return f"{THRESHOLD_PREFIX}{threshold:g}/{name}"


def parse(tag: str) -> tuple[float | None, str] | None:
    """(threshold or None, score name) of an evaluation tag; None for any other tag."""
    if tag.startswith(EVAL_PREFIX):
        return None, tag[len(EVAL_PREFIX):]
    if tag.startswith(THRESHOLD_PREFIX):
        threshold, _, name = tag[len(THRESHOLD_PREFIX):].partition("/")
        try:
            return float(threshold), name
        except ValueError:
            return None
    return None
