"""Writing the drift reference: the training images' statistics before training, the held-out
parts' scores after the last evaluation of training or by `unet calibrate`."""

from __future__ import annotations

from collections.abc import Sequence

import attrs

from unet_defects.application.drift_ports import DriftReferenceStore, TrainingImages
from unet_defects.domain.drift import gray_statistics
from unet_defects.domain.drift_reference import DriftReference, InputReference, ScoreReference
from unet_defects.domain.errors import DataError, UnetError

REFERENCE_IMAGES = 500  # at most: a bounded, seeded sample, read once
REFERENCE_SEED = 0
# The test images feed nothing, the score reference neither: without a validation part the
# evaluation images are the test images.
NO_HELD_OUT = ("no drift reference of the parts' scores: no held-out validation part (the evaluation images are "
               "the test images); run with train_input.validation_split, or unet calibrate on it")


class DriftRecorder:
    """Each half of the reference written when it is known; the other half kept as it was."""

    def __init__(self, store: DriftReferenceStore, images: TrainingImages | None = None,
                 limit: int = REFERENCE_IMAGES, seed: int = REFERENCE_SEED) -> None:
        self._store = store
        self._images = images
        self._limit = limit
        self._seed = seed

    def record_inputs(self) -> str | None:
        """The training images' mean gray, exposure spread and size; None when there are no
        image files to read (arrays, TFRecords), or when a run before this one (resumed) measured
        the same sample already: its images are read only once."""
        if self._images is None:
            return None
        total, images = self._images.sample(self._limit, self._seed)  # read as they are iterated
        taken = min(total, self._limit)
        sampled = f"{taken} of {total}, seed {self._seed}" if taken < total else f"all {total}"
        source = f"the training images ({sampled})"
        current = self._current()
        if not total or (current.inputs is not None and current.inputs.source == source):
            return None
        rows = [(*gray_statistics(image), image.shape[0] * image.shape[1]) for image in images]
        return self._store.save(attrs.evolve(current, inputs=InputReference.of(rows, source)))

    def record_scores(self, scores: Sequence[float | None], flagged: Sequence[bool], source: str) -> str | None:
        """Held-out parts' scores and verdicts at the decision in force; None without a part."""
        if not any(score is not None for score in scores):
            return None
        return self._store.save(attrs.evolve(self._current(), scores=ScoreReference.of(scores, flagged, source)))

    def scores_line(self, scores: Sequence[float | None], flagged: Sequence[bool], source: str, parts: str) -> str:
        """record_scores, told in one line for the log (empty when nothing was written); a
        failure only warns: the run or calibration it ends has its results written already."""
        try:
            written = self.record_scores(scores, flagged, source)
        except (UnetError, OSError, ValueError) as error:
            return f"warning: no drift reference of the parts' scores ({error})"
        return f"drift reference: the {parts} parts' scores written to {written}" if written else ""

    def _current(self) -> DriftReference:
        try:
            return self._store.load() or DriftReference()
        except DataError:  # a damaged file is written anew rather than stopping the run
            return DriftReference()
