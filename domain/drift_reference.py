"""The drift reference: what the model was trained on (inputs) and how it judged held-out parts
(scores), as distributions a window of the line is compared with (domain.drift).

The two halves come at different times: training measures its images before it trains; the
score half comes from the last evaluation of training or from `unet calibrate`, at the decision
it leaves in force. drift_reference.json in the model_dir holds both, and an export's manifest
carries a copy.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import attrs

from unet_defects.domain.drift import FLAGGED, INPUT_STATISTICS, PART_SCORE, SCORE_STATISTICS, Distribution
from unet_defects.domain.errors import DataError

VERSION = 1


@attrs.frozen
class InputReference:
    """The training images' mean gray, exposure spread and size (pixels), from `images` of them."""

    distributions: dict[str, Distribution]  # by name of INPUT_STATISTICS
    source: str  # in words: which images, how many

    @classmethod
    def of(cls, rows: Sequence[tuple[float, float, int]], source: str) -> InputReference:
        """From each image's (mean gray, exposure spread, pixels)."""
        columns = list(zip(*rows)) if rows else [(), (), ()]
        return cls({name: Distribution.of(column) for name, column in zip(INPUT_STATISTICS, columns)}, source)


@attrs.frozen
class ScoreReference:
    """Held-out parts' part scores and share flagged at the decision in force."""

    distributions: dict[str, Distribution]  # by name of SCORE_STATISTICS
    source: str

    @classmethod
    def of(cls, scores: Sequence[float | None], flagged: Sequence[bool], source: str) -> ScoreReference:
        """From each part's score (None: a part without one, left out) and verdict."""
        if len(scores) != len(flagged):
            raise ValueError(f"{len(scores)} part scores for {len(flagged)} verdicts")
        return cls({PART_SCORE: Distribution.of([s for s in scores if s is not None]),
                    FLAGGED: Distribution.of_flags([float(f) for f in flagged])}, source)


@attrs.frozen
class DriftReference:
    inputs: InputReference | None = None
    scores: ScoreReference | None = None

    def distributions(self) -> dict[str, Distribution]:
        """Every statistic the reference holds, by name."""
        held = {}
        for half in (self.inputs, self.scores):
            if half is not None:
                held.update(half.distributions)
        return held

    def describe(self) -> str:
        parts = [f"inputs from {self.inputs.source}" if self.inputs else "no input reference",
                 f"scores from {self.scores.source}" if self.scores else "no score reference"]
        return "; ".join(parts)

    def as_dict(self) -> dict:
        found: dict = {"version": VERSION}
        for key, half in (("inputs", self.inputs), ("scores", self.scores)):
            if half is not None:
                found[key] = {"source": half.source, **{name: d.as_dict() for name, d in half.distributions.items()}}
        return found

    @classmethod
    def from_dict(cls, payload: object, where: str) -> DriftReference:
        """One line naming `where` and the key for anything amiss."""
        if not isinstance(payload, Mapping):
            raise DataError(f"{where}: expected a JSON object")
        if payload.get("version") != VERSION:
            raise DataError(f"{where}: version {payload.get('version')!r}, this release reads {VERSION}")
        unknown = sorted(set(payload) - {"version", "inputs", "scores"})
        if unknown:
            raise DataError(f"{where}: unknown keys {', '.join(unknown)}")
        inputs = _half(payload, "inputs", INPUT_STATISTICS, where)
        scores = _half(payload, "scores", SCORE_STATISTICS, where)
        return cls(None if inputs is None else InputReference(*inputs), None if scores is None else ScoreReference(*scores))


def _half(payload: Mapping, key: str, names: tuple[str, ...], where: str) -> tuple[dict[str, Distribution], str] | None:
    """One half's distributions and source, None when the file has no such half."""
    half = payload.get(key)
    if half is None:
        return None
    if not isinstance(half, Mapping) or set(half) != {"source", *names}:
        raise DataError(f"{where}: {key} must hold source, {', '.join(names)}")
    return {name: Distribution.from_dict(half[name], f"{where}: {key}.{name}") for name in names}, str(half["source"])

