"""Use case: inspect parts. One inspection pipeline (the session's model over gray images, then
the decision) that `unet predict` feeds files, and the Inspector feeds arrays for a Python
service and for the server."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator, Sequence

import numpy as np

from unet_defects.application.batching import Item, Key, ProbabilityMaps, Result
from unet_defects.application.drift_monitor import DriftMonitor
from unet_defects.application.drift_ports import DriftReferenceStore
from unet_defects.application.inspection import Inspection, inspected
from unet_defects.application.options import InferenceOptions
from unet_defects.application.ports import Components
from unet_defects.application.session import InferenceSession
from unet_defects.domain.drift_window import DriftFigures, DriftSettings
from unet_defects.domain.errors import DataError
from unet_defects.domain.gray import checked_image
from unet_defects.domain.tiling import PredictGeometry

DEFAULT_MAX_PIXELS = 64_000_000


class InspectionPipeline:
    """Keyed (H, W) uint8 gray images in, each one's Inspection out, in input order: the
    session's probabilities (batched, resized or tiled: `maps`, the model's work) and its
    decision on them (`decide`, which needs no model)."""

    def __init__(self, maps: ProbabilityMaps, components: Components) -> None:
        self._maps = maps
        self._components = components

    def run(self, session: InferenceSession, geometry: PredictGeometry,
            items: Iterable[Item[Key]]) -> Iterator[tuple[Key, np.ndarray, Inspection]]:
        for key, image, probabilities, classified in self.maps(session, geometry, items):
            yield key, image, self.decide(session, probabilities, classified)

    def maps(self, session: InferenceSession, geometry: PredictGeometry,
             items: Iterable[Item[Key]]) -> Iterator[Result[Key]]:
        return self._maps.run(session, geometry, items)

    def decide(self, session: InferenceSession, probabilities: np.ndarray,
               classified: np.ndarray | None) -> Inspection:
        return inspected(probabilities, session.decisions, self._components, session.classes, classified)


class InspectUseCase:
    """A model opened once; `inspect` and `inspect_many` take numpy arrays (uint8 or uint16;
    gray, RGB or RGBA, turned gray by predict's reading rules).

    It runs the same code as `unet predict`: the inference session (checkpoint with
    calibration, or export with manifest; flags over either), the same normalization, the same
    batching or tiling, the same decision. Thread-safe: one lock around the model, so calls
    from several threads run one at a time through it; the decision (threshold, min_area,
    the gate) and the records run outside it.

    Each image also feeds the drift window (`drift`: the last N images against the reference
    `references` holds; `alarm` hears one line when a statistic passes its bound). A reference
    that cannot be read leaves the model without one, and the drift figures' note says why:
    inspecting does not depend on it."""

    def __init__(self, session: InferenceSession, pipeline: InspectionPipeline,
                 options: InferenceOptions = InferenceOptions(), max_pixels: int = DEFAULT_MAX_PIXELS,
                 drift: DriftSettings = DriftSettings(), alarm: Callable[[str], None] | None = None,
                 references: DriftReferenceStore | None = None) -> None:
        problem, reference = "", None
        if references is not None:
            try:
                reference = references.load()
            except DataError as error:
                problem = f"warning: the drift reference cannot be read ({error}); no reference"
        self._monitor = DriftMonitor(reference, drift, alarm, problem=problem)
        self._session = session
        self._geometry = session.geometry(options)
        self._pipeline = pipeline
        self._max_pixels = max_pixels
        self._lock = threading.Lock()

    @property
    def session(self) -> InferenceSession:
        """What runs: its source in words, step, decision, geometry and TTA."""
        return self._session

    @property
    def max_pixels(self) -> int:
        """The largest image taken, in pixels (height x width)."""
        return self._max_pixels

    def inspect(self, image: np.ndarray) -> Inspection:
        """One image's Inspection."""
        return self.inspect_many([image])[0]

    def inspect_many(self, images: Sequence[np.ndarray]) -> list[Inspection]:
        """Each image's Inspection, in order; images of one size share batches."""
        gray = [checked_image(image, self._max_pixels, f"image {index}" if len(images) > 1 else "image")
                for index, image in enumerate(images)]
        with self._lock:  # the model's work; the decisions run outside, in each caller's thread
            maps = {key: (probabilities, classified) for key, _, probabilities, classified in
                    self._pipeline.maps(self._session, self._geometry, enumerate(gray))}
        found = [self._pipeline.decide(self._session, *maps[index]) for index in range(len(gray))]
        self._monitor.observe(gray, found)
        return found

    def drift(self) -> DriftFigures:
        """The drift window's figures now, against the model's reference (docs/serve.md, Drift)."""
        return self._monitor.figures()
