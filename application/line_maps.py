"""Evaluation's probability maps, computed as the line computes them.

The figure a run reports is the figure the line gets: in the `native` geometry (a model trained
on crops) evaluation and calibration take each image as read and run it through
`ProbabilityMaps`, the path of `unet predict`, the Inspector and the server (mirror padding,
tiles of the training size for a larger image, their blending, the classifier head's largest
probability over the tiles). In the `resize` geometry the evaluation images arrive at the
training size, where the reference scores them, and the engine runs on them as they are.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np

from unet_defects.application.batching import ProbabilityMaps
from unet_defects.application.options import InferenceOptions
from unet_defects.application.ports import Batches, Evaluator
from unet_defects.application.session import InferenceSession
from unet_defects.application.values import EvaluatedMap, LabelledImage


class LineMaps:
    def __init__(self, evaluator: Evaluator, maps: ProbabilityMaps) -> None:
        self._evaluator = evaluator
        self._maps = maps

    def run(self, session: InferenceSession, options: InferenceOptions, stream: Batches,
            max_batches: int | None = None, ignore_labels: Sequence[int] = ()) -> Iterator[EvaluatedMap]:
        """Each evaluation image's probabilities (and head's), with its truth, in stream order."""
        geometry = session.geometry(options)
        if geometry.mode != "native":
            yield from self._evaluator.maps(session.engine, stream, max_batches, ignore_labels)
            return
        waiting: dict[int, LabelledImage] = {}

        def items() -> Iterator[tuple[int, np.ndarray]]:
            for index, labelled in enumerate(self._evaluator.images(stream, max_batches, ignore_labels)):
                waiting[index] = labelled
                yield index, labelled.image

        for index, image, probabilities, classified in self._maps.run(session, geometry, items()):
            labelled = waiting.pop(index)
            yield EvaluatedMap(image=image, probabilities=probabilities, truth=labelled.truth,
                               counted=labelled.counted, image_probabilities=classified)


def evaluation_maps(line_maps: LineMaps | None, evaluator: Evaluator, session: InferenceSession,
                    options: InferenceOptions, stream: Batches, max_batches: int | None = None,
                    ignore_labels: Sequence[int] = ()) -> Iterator[EvaluatedMap]:
    """The maps evaluation and calibration score: `line_maps`' (predict's), or where none is wired
    (use cases built with fakes alone) the evaluator's."""
    if line_maps is None:
        return evaluator.maps(session.engine, stream, max_batches, ignore_labels)
    return line_maps.run(session, options, stream, max_batches, ignore_labels)
