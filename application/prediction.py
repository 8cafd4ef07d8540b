"""Use case: predict defect masks for image files with a trained model."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import attrs
import numpy as np

from unet_defects.application.inspector import InspectionPipeline
from unet_defects.application.options import InferenceOptions
from unet_defects.application.ports import ImageSource, PredictionWriter
from unet_defects.application.session import BEST_KEPT, InferenceSession, SessionOpener, named_class
from unet_defects.domain import rle
from unet_defects.domain.data import DataSpec
from unet_defects.domain.decision import decisions_json
from unet_defects.domain.errors import ConfigError, DataError
from unet_defects.domain.tiling import PredictGeometry

PREDICTIONS_FILE = "predictions.jsonl"


@attrs.frozen
class Submission:
    """A Kaggle Severstal submission: one row per image for `class_id` (None: the config's
    train_input.class_id), or one per image and class for a model of several classes (`classes`,
    the model's), empty when the predicted defect area of that class (after the removal of small
    components) is below `min_total_area` pixels."""

    path: str
    class_id: int | None = None
    min_total_area: int = 0
    classes: tuple[int, ...] = ()

    def row(self, name: str, decision: np.ndarray) -> tuple[str, int, str]:
        assert self.class_id is not None  # PredictUseCase resolves it (or `classes`) before any row
        encoded = rle.encode(decision) if int(np.count_nonzero(decision)) >= max(self.min_total_area, 1) else ""
        return Path(name).name, self.class_id, encoded

    def rows(self, name: str, decision: np.ndarray) -> list[tuple[str, int, str]]:
        """The image's rows: one, or one per class of an (H, W, K) decision."""
        if not self.classes:
            return [self.row(name, decision)]
        return [attrs.evolve(self, class_id=class_id, classes=()).row(name, decision[..., channel])
                for channel, class_id in enumerate(self.classes)]


@attrs.frozen
class PredictionReport:
    step: int
    source: str  # which checkpoint or export, in words
    images_done: int
    written: tuple[str, ...]
    failures: tuple[str, ...]  # one line per file that could not be read
    geometry: PredictGeometry | None = None
    decision: str = ""  # threshold and min_area, and where they came from
    tta: str = "none"


def describe_decisions(session: InferenceSession) -> str:
    """The decision in words; per class when there are several."""
    if not session.several:
        return session.decision.describe()
    if len(set(session.decisions)) == 1:  # a decision's class is not part of it (Decision's eq)
        return f"{session.decision.describe()}, for every class"
    return "; ".join(f"class {d.class_id}: {d.describe()}" for d in session.decisions)


class PredictUseCase:
    """Files in, the inspection pipeline the Inspector runs, writers out: masks, overlays and
    one JSON line per image (predictions.jsonl: the verdict and each defect kept).

    The session is opened once per call (the given checkpoint, else the best kept, else the
    newest; or an export); the pipeline batches the images while the image source reads the
    next files.
    """

    def __init__(self, opener: SessionOpener, pipeline: InspectionPipeline, images: ImageSource,
                 artifacts: PredictionWriter, data: DataSpec) -> None:
        self._opener = opener
        self._pipeline = pipeline
        self._images = images
        self._artifacts = artifacts
        self._data = data

    def execute(
        self,
        inputs: Sequence[str],
        output: str,
        options: InferenceOptions = InferenceOptions(),
        progress: Callable[[int, int], None] | None = None,
        save_probabilities: bool = False,
        submission: Submission | None = None,
        check_input: bool = True,  # the config is the model's own (not the default preset beside an export)
    ) -> PredictionReport:
        self._artifacts.check_output(output)
        files = self._images.list(inputs)
        if not files:
            raise DataError(f"{', '.join(inputs)}: no image files found")
        session = self._opener.open(options, BEST_KEPT, check_input=check_input)
        submission = self._with_class_id(submission, session) if submission is not None else None
        geometry = session.geometry(options)
        written: list[str] = []
        failures: list[str] = []
        rows: list[tuple[str, int, str]] = []
        verdicts: list[dict] = []
        done = 0
        class_ids = tuple(class_id for class_id, _ in session.classes)
        for name, image, inspection in self._pipeline.run(session, geometry, self._readable(files, failures)):
            written += self._artifacts.write_prediction(output, name, image, inspection.probabilities, inspection.mask,
                                                        save_probabilities, class_ids)
            verdicts.append({"file": name, **inspection.summary(), **decisions_json(session.decisions)})
            if submission is not None:
                rows += submission.rows(name, inspection.mask)
            del inspection
            done += 1
            if progress:
                progress(done + len(failures), len(files))
        written.append(self._artifacts.write_lines(output, PREDICTIONS_FILE, verdicts))
        if submission is not None:
            written.append(self._artifacts.write_submission(submission.path, rows))
        return PredictionReport(step=session.step, source=session.source, images_done=done, written=tuple(written),
                                failures=tuple(failures), geometry=geometry, decision=describe_decisions(session),
                                tta=session.tta)

    def _with_class_id(self, submission: Submission, session) -> Submission:
        """The submission's class: the model's classes, else --class_id (which must be a one-class
        export's own class, when its manifest names one), else the class the model or the config names."""
        classes = tuple(class_id for class_id, _ in session.classes)
        if classes:
            if submission.class_id is not None:
                raise ConfigError(f"--class_id: the model has the classes {list(classes)} and writes a row for "
                                  "each; drop --class_id")
            return attrs.evolve(submission, classes=classes)
        if submission.class_id is not None:
            if session.is_export and session.class_id is not None and submission.class_id != session.class_id:
                raise ConfigError(f"--class_id {submission.class_id}: {session.source} is a one-class model of "
                                  f"class {session.class_id}; drop --class_id")
            return submission
        named = session.class_id if session.class_id is not None else named_class(self._data)
        if named is None:
            raise ConfigError("--class_id: required with --rle-csv (the config names no train_input.class_id)")
        return attrs.evolve(submission, class_id=named)

    def _readable(self, files: Sequence[str], failures: list[str]) -> Iterator[tuple[str, np.ndarray]]:
        for name, image, error in self._images.stream(files):
            if image is None:
                failures.append(error)
            else:
                yield name, image
