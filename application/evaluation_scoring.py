"""How evaluation scores each image, chosen once per opened session: in the evaluator's graph
(the config's rule alone, fastest) or in numpy from the probability maps predict makes (with
whatever the graph cannot do: calibrated or per-class decisions, min_area, a classifier head,
an export, TTA, the native geometry's tiles, ignored labels)."""

from __future__ import annotations

from collections.abc import Iterator

from unet_defects.application.line_maps import LineMaps, evaluation_maps
from unet_defects.application.map_scoring import scored_map
from unet_defects.application.options import InferenceOptions
from unet_defects.application.ports import Components, DatasetReader, Evaluator
from unet_defects.application.session import InferenceSession
from unet_defects.application.values import ImageEvaluation
from unet_defects.domain.experiment import EvalSpec
from unet_defects.domain.masks import DecisionRule
from unet_defects.domain.training import RunSpec


class EvaluationScoring:
    """Each evaluation image of a split, scored under the rules (the first: the session's own)."""

    def __init__(self, reader: DatasetReader, evaluator: Evaluator, evaluation: EvalSpec, run: RunSpec,
                 components: Components | None = None, options: InferenceOptions = InferenceOptions(),
                 line_maps: LineMaps | None = None) -> None:
        self._reader = reader
        self._evaluator = evaluator
        self._evaluation = evaluation
        self._run = run
        self._components = components
        self._options = options
        self._line_maps = line_maps

    def images(self, session: InferenceSession, rules: tuple[DecisionRule, ...],
               split: str) -> Iterator[ImageEvaluation]:
        stream, batches = self._reader.evaluation_stream(split), self._run.eval_batches()
        ignored = self._evaluation.eval_ignore_classes
        if not self.in_numpy(session):
            return self._evaluator.evaluate(session.model, stream, rules, ignored, batches)
        maps = evaluation_maps(self._line_maps, self._evaluator, session, self._options, stream, batches, ignored)
        return (scored_map(index, found, rules, session.decisions, self._components) for index, found in enumerate(maps))

    def names(self, split: str) -> list[str]:
        """Each image's name in the split's order, when the reader knows them."""
        return self._reader.evaluation_names(split)

    def in_numpy(self, session: InferenceSession) -> bool:
        """The one choice, asked once per opened session: numpy (as predict decides) for what the
        graph cannot do: the native geometry, whose maps are predict's (tiles and all); ignored
        labels (the defect records see the same counted pixels); channels with thresholds of
        their own (the graph applies one); min_area; a classifier head; an export; TTA. Else the
        graph."""
        decisions = session.decisions
        native = self._line_maps is not None and session.geometry(self._options).mode == "native"
        return (native or len({d.threshold for d in decisions}) > 1 or any(d.min_area > 0 for d in decisions)
                or session.has_classifier or session.is_export or session.tta != "none"
                or bool(self._evaluation.eval_ignore_classes))
