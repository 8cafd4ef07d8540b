"""Use case: predict defect masks for image files with a trained model."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path

import attrs
import numpy as np

from unet_defects.application.inspection import Inspection
from unet_defects.application.inspector import InspectionPipeline
from unet_defects.application.options import InferenceOptions
from unet_defects.application.prediction_ports import ImageSource, PredictionWriter, ProposalsOpener, ProposalWriter
from unet_defects.application.session import BEST_KEPT, InferenceSession, SessionOpener, named_class
from unet_defects.domain import rle
from unet_defects.domain.data import DataSpec
from unet_defects.domain.decision import decisions_json
from unet_defects.domain.errors import ConfigError, DataError
from unet_defects.domain.resumption import stem_clash
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


def verdict_line(name: str, inspection: Inspection, session: InferenceSession) -> dict:
    """An image's predictions.jsonl line: its verdict, its defects and the decision in force."""
    return {"file": name, **inspection.summary(), **decisions_json(session.decisions)}


def prediction_identity(session: InferenceSession, geometry: PredictGeometry) -> dict:
    """What makes two processes' lines the same: the model file, its step, the decisions, the
    TTA and the geometry, as JSON values (a shard folder records it)."""
    return json.loads(json.dumps({
        "model": session.path, "step": session.step, "tta": session.tta, "decisions": decisions_json(session.decisions),
        "geometry": {"mode": geometry.mode, "tile": geometry.tile, "overlap": geometry.overlap}}))


def identity_difference(before: Mapping, now: Mapping) -> str:
    """The first setting that differs between two identities, in words ("" when none)."""
    for key in now:
        if before.get(key) != now[key]:
            return f"{key} {json.dumps(before.get(key))} then, {json.dumps(now[key])} now"
    return ""


def proposal_classes(session: InferenceSession) -> list[str]:
    """A name per output channel, as proposals label their shapes ("defect" for a one-class model)."""
    return [name for _, name in session.classes] or ["defect"]


def checked_inputs(files: Sequence[str], inputs: Sequence[str]) -> Sequence[str]:
    """The files, or one line when there are none or two would write the same outputs."""
    if not files:
        raise DataError(f"{', '.join(inputs)}: no image files found")
    clash = stem_clash(files)
    if clash is not None:
        raise DataError(f"{clash[0]} and {clash[1]}: both would write {Path(clash[0]).stem}_mask.png into the output "
                        "folder; predict them into separate folders")
    return files


class FilePredictions:
    """One opened session's work on image files, in `unet predict` and on each Ray worker: each
    readable file inspected, its masks and overlay written into `output`, its line made."""

    def __init__(self, session: InferenceSession, pipeline: InspectionPipeline, images: ImageSource,
                 artifacts: PredictionWriter, output: str, options: InferenceOptions = InferenceOptions(),
                 save_probabilities: bool = False, max_pixels: int | None = None,
                 proposals: ProposalWriter | None = None) -> None:
        self.session = session
        self._proposals = proposals
        self._geometry = session.geometry(options)
        self._pipeline = pipeline
        self._images = images
        self._artifacts = artifacts
        self._output = output
        self._save_probabilities = save_probabilities
        self._max_pixels = max_pixels

    @property
    def geometry(self) -> PredictGeometry:
        return self._geometry

    def run(self, files: Sequence[str], failures: list[tuple[str, str]], read_from: Mapping[str, str] | None = None,
            ) -> Iterator[tuple[str, dict, np.ndarray, list[str]]]:
        """(file, its line, its (H, W[, K]) decision, the files written) per readable file, in
        order; (file, one-line error) per unreadable one into `failures`. `read_from`: where a
        file is read when not at its name (a worker reads absolute paths; the lines and errors
        keep the names given)."""
        class_ids = tuple(class_id for class_id, _ in self.session.classes)
        for name, image, inspection in self.inspections(files, failures, read_from):
            written = self._artifacts.write_prediction(self._output, name, image, inspection.probabilities,
                                                       inspection.mask, self._save_probabilities, class_ids)
            if self._proposals is not None:
                written += self._proposals.add(name, (read_from or {}).get(name, name), inspection.class_masks,
                                               inspection.class_probabilities)
            yield name, verdict_line(name, inspection, self.session), inspection.mask, written
            del inspection  # a huge image's probabilities go before the next image is read

    def inspections(self, files: Sequence[str], failures: list[tuple[str, str]],
                    read_from: Mapping[str, str] | None = None) -> Iterator[tuple[str, np.ndarray, Inspection]]:
        """(file, its image, its inspection) per readable file, in order, nothing written;
        failures as `run`'s."""
        return self._pipeline.run(self.session, self._geometry, self._readable(files, failures, read_from or {}))

    def identity(self) -> dict:
        return prediction_identity(self.session, self._geometry)

    def _readable(self, files: Sequence[str], failures: list[tuple[str, str]],
                  read_from: Mapping[str, str]) -> Iterator[tuple[str, np.ndarray]]:
        names = {read_from.get(name, name): name for name in files}
        for path, image, error in self._images.stream(list(names), self._max_pixels):
            if image is None:
                failures.append((names[path], error.replace(path, names[path])))
            else:
                yield names[path], image


class PredictUseCase:
    """Files in, the inspection pipeline the Inspector runs, writers out: masks, overlays and
    one JSON line per image (predictions.jsonl: the verdict and each defect kept).

    The session is opened once per call (the given checkpoint, else the best kept, else the
    newest; or an export); the pipeline batches the images while the image source reads the
    next files.
    """

    def __init__(self, opener: SessionOpener, pipeline: InspectionPipeline, images: ImageSource,
                 artifacts: PredictionWriter, data: DataSpec, proposals: ProposalsOpener | None = None) -> None:
        self._opener = opener
        self._proposals = proposals
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
        max_pixels: int | None = None,
        annotations: Sequence[str] = (),  # also write the kept defects in these formats (coco, labelme)
    ) -> PredictionReport:
        self._artifacts.check_output(output)
        files = checked_inputs(self._images.list(inputs), inputs)
        session = self._opener.open(options, BEST_KEPT, check_input=check_input)
        submission = self._with_class_id(submission, session) if submission is not None else None
        proposals = self._open_proposals(annotations, output, session)
        predictions = FilePredictions(session, self._pipeline, self._images, self._artifacts, output, options,
                                      save_probabilities, max_pixels, proposals)
        written: list[str] = []
        failures: list[tuple[str, str]] = []
        rows: list[tuple[str, int, str]] = []
        verdicts: list[dict] = []
        for name, line, decision, files_written in predictions.run(files, failures):
            written += files_written
            verdicts.append(line)
            if submission is not None:
                rows += submission.rows(name, decision)
            if progress:
                progress(len(verdicts) + len(failures), len(files))
        written.append(self._artifacts.write_lines(output, PREDICTIONS_FILE, verdicts))
        if proposals is not None:
            written += proposals.close()
        if submission is not None:
            written.append(self._artifacts.write_submission(submission.path, rows))
        return PredictionReport(step=session.step, source=session.source, images_done=len(verdicts),
                                written=tuple(written), failures=tuple(error for _, error in failures),
                                geometry=predictions.geometry,
                                decision=describe_decisions(session), tta=session.tta)

    def _open_proposals(self, formats: Sequence[str], output: str, session: InferenceSession) -> ProposalWriter | None:
        if not formats:
            return None
        if self._proposals is None:
            raise ConfigError("--annotations: this predictor has no proposal writer")
        return self._proposals(formats, output, proposal_classes(session))

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
