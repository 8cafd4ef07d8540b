"""Use case: rank unlabelled images by how unsure the model is of them (domain.review), and write
the least sure ones' proposals in a labelling tool's format, so a team labels those first.

Every image is inspected once through the Inspector's pipeline, as `unet predict` does; the
chosen ones are then inspected again to write their masks, overlays and proposals (a second pass
over a few images rather than every image's probabilities kept in memory)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol

import attrs

from unet_defects.application.inspector import InspectionPipeline
from unet_defects.application.options import InferenceOptions
from unet_defects.application.prediction import FilePredictions, checked_inputs, proposal_classes
from unet_defects.application.prediction_ports import ImageSource, PredictionWriter, ProposalsOpener
from unet_defects.application.session import BEST_KEPT, SessionOpener
from unet_defects.domain.errors import ConfigError
from unet_defects.domain.review import PIXEL_BAND, Uncertainty, check_measure, most_uncertain, uncertainty

REVIEW_FILE = "review"  # review.csv and review.json


class ReviewWriter(Protocol):
    def write(self, output: str, name: str, rows: Sequence[dict], about: dict) -> list[str]:
        """`name`.json (`about` and the rows) and `name`.csv (the rows) in `output`; their paths."""


@attrs.frozen
class ReviewReport:
    ranked: tuple[tuple[str, Uncertainty], ...]  # every readable image, least sure first
    chosen: tuple[str, ...]
    written: tuple[str, ...]
    failures: tuple[str, ...]
    source: str
    by: str


class ReviewUseCase:
    def __init__(self, opener: SessionOpener, pipeline: InspectionPipeline, images: ImageSource,
                 artifacts: PredictionWriter, proposals: ProposalsOpener, writer: ReviewWriter) -> None:
        self._opener = opener
        self._pipeline = pipeline
        self._images = images
        self._artifacts = artifacts
        self._proposals = proposals
        self._writer = writer

    def execute(self, inputs: Sequence[str], output: str, count: int, by: str = "margin",
                annotations: Sequence[str] = ("coco",), options: InferenceOptions = InferenceOptions(),
                progress: Callable[[int, int], None] | None = None, check_input: bool = True,
                max_pixels: int | None = None) -> ReviewReport:
        """`check_input`: the config is the model's own (not the default preset beside an export)."""
        check_measure(by)
        if count < 1:
            raise ConfigError(f"--count: must be 1 or more, got {count}")
        self._artifacts.check_output(output)
        files = checked_inputs(self._images.list(inputs), inputs)
        session = self._opener.open(options, BEST_KEPT, check_input=check_input)
        proposals = self._proposals(annotations, output, proposal_classes(session)) if annotations else None
        predictions = FilePredictions(session, self._pipeline, self._images, self._artifacts, output, options,
                                      max_pixels=max_pixels, proposals=proposals)
        failures: list[tuple[str, str]] = []
        scored: list[tuple[str, Uncertainty, dict]] = []
        for name, _, inspection in predictions.inspections(files, failures):
            measured = uncertainty(inspection.class_probabilities, session.decisions, inspection.image_probabilities)
            scored.append((name, measured, {"score": round(inspection.score, 6), "defective": inspection.defective}))
            if progress:
                progress(len(scored) + len(failures), len(files))
        verdicts = {name: verdict for name, _, verdict in scored}
        ranked = most_uncertain([(name, measured) for name, measured, _ in scored], by)
        written: list[str] = []
        chosen: list[str] = []
        for name, _, _, paths in predictions.run([name for name, _ in ranked[:count]], failures):
            chosen.append(name)  # written: a file that failed its second read is not chosen
            written += paths
        if proposals is not None:
            written += proposals.close()
        kept = set(chosen)
        rows = [{"rank": rank, "file": name, "chosen": name in kept, "margin": round(measured.margin, 6),
                 "pixels": round(measured.pixels, 6), **verdicts[name]}
                for rank, (name, measured) in enumerate(ranked, start=1)]
        about = {"model": session.source, "step": session.step, "by": by, "count": count,
                 "pixel_band": PIXEL_BAND, "annotations": list(annotations)}
        written += self._writer.write(output, REVIEW_FILE, rows, about)
        return ReviewReport(tuple(ranked), tuple(chosen), tuple(written), tuple(error for _, error in failures),
                            session.source, by)
