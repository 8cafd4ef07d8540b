"""The plain values that cross the ports: what use cases hand to adapters and get back."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import attrs
import numpy as np

from unet_defects.domain.decision import Decision
from unet_defects.domain.metrics import ConfusionMatrix

Series = tuple[tuple[int, float], ...]  # (step, value) in step order


@attrs.frozen
class CheckpointRef:
    step: int
    path: str


@attrs.frozen
class BestCheckpoint:
    """The kept checkpoint with the best evaluation score (runconfig.keep_best)."""

    checkpoint: CheckpointRef
    score: str
    value: float

    def describe(self) -> str:
        return f"the best checkpoint, step {self.checkpoint.step} ({self.score} {self.value:.4f})"


@attrs.frozen
class TrainOutcome:
    start_step: int
    final_step: int
    last_loss: float | None = None
    images_per_second: float | None = None
    seconds: float = 0.0
    stopped_by: str = "max_steps"  # or "time_budget" (runconfig.time_budget ran out first)
    median_step_seconds: float | None = None  # of the training calls after the first (which traces)
    schedule_lead: float = 0.0  # steps the schedule stood ahead at the end (it followed the budget)

    @property
    def steps_run(self) -> int:
        return self.final_step - self.start_step


@attrs.frozen
class SamplePicture:
    """One evaluation image with its truth and prediction, for the sample pictures."""

    index: int
    image: np.ndarray = attrs.field(eq=False)  # uint8 (H, W)
    truth: np.ndarray = attrs.field(eq=False)  # bool (H, W)
    prediction: np.ndarray = attrs.field(eq=False)  # bool (H, W)


@attrs.frozen
class ImageEvaluation:
    """One evaluated image, per defect class (K >= 1): confusion counts under each decision
    rule (in the order given), the largest probability over its counted pixels, the part score
    and verdicts; and its picture under the first rule, built only when asked for. The part's
    figures pool the classes: defective when any class is, its score the highest class's."""

    class_counts: tuple[tuple[ConfusionMatrix, ...], ...]  # [class][rule]
    picture: Callable[[], SamplePicture] = attrs.field(eq=False)
    class_peaks: tuple[float, ...] = ()
    # The part score of each class (domain.part_score: the head's probability, else the peak).
    class_scores: tuple[float, ...] = ()
    # Each class's verdict under each rule ([class][rule]); empty: defective when the mask is not.
    class_flagged: tuple[tuple[bool, ...], ...] = ()
    # With a classifier head: each class's segmentation-rule mask as the gate sees it (domain.gate).
    gate_rows: tuple[Any, ...] = ()
    # (K, 2, bins) int64: each class's counted pixels by probability bin (domain.curves), or None.
    class_histograms: np.ndarray | None = attrs.field(default=None, eq=False)

    @property
    def counts(self) -> tuple[ConfusionMatrix, ...]:
        """Each rule's counts, pooled over the classes."""
        return tuple(sum((by_rule[rule] for by_rule in self.class_counts), ConfusionMatrix())
                     for rule in range(len(self.class_counts[0])))

    @property
    def peak(self) -> float:
        return max(self.class_peaks, default=0.0)

    @property
    def part_score(self) -> float:
        return max(self.class_scores or self.class_peaks, default=0.0)

    def defective(self, rule: int = 0) -> bool:
        """The part's verdict under the rule."""
        if self.class_flagged:
            return any(by_rule[rule] for by_rule in self.class_flagged)
        counts = self.counts[rule]
        return counts.tp + counts.fp > 0

    @classmethod
    def from_class_counts(cls, rows: Any, peaks: Any, picture: Callable[[], SamplePicture],
                          histograms: np.ndarray | None = None) -> ImageEvaluation:
        """From (rules, classes, 4) counts and each class's peak (and pixel histograms)."""
        rules, classes = len(rows), len(rows[0])
        return cls(class_counts=tuple(tuple(ConfusionMatrix.from_counts(rows[r][c]) for r in range(rules))
                                      for c in range(classes)),
                   picture=picture, class_peaks=tuple(float(p) for p in peaks), class_histograms=histograms)


@attrs.frozen(eq=False)
class LabelledImage:
    """One evaluation image as read, at its own (unpadded) size, with its truth and the pixels that
    count (not padding, not ignored labels)."""

    image: np.ndarray  # (H, W) uint8 gray
    truth: np.ndarray  # (H, W, K) bool, a channel per defect class, as `counted`
    counted: np.ndarray


def built_once(picture: Callable[[], SamplePicture]) -> Callable[[], SamplePicture]:
    """The picture built on the first call and kept: the defect match, the sample pictures and the
    worst images may each ask for one image's."""
    made: list[SamplePicture] = []

    def get() -> SamplePicture:
        if not made:
            made.append(picture())
        return made[0]

    return get


@attrs.frozen(eq=False)
class EvaluatedMap:
    """One evaluation image at its own (unpadded) size: the picture, the engine's defect
    probabilities, the truth and which pixels count (not padding, not ignored labels)."""

    image: np.ndarray  # (H, W) uint8-range gray, for sample pictures
    probabilities: np.ndarray  # (H, W, K) float32, a channel per defect class, as the two below
    truth: np.ndarray  # (H, W, K) bool
    counted: np.ndarray  # (H, W, K) bool: not padding, not an ignored label
    image_probabilities: np.ndarray | None = None  # the classifier head's (K,), when there is one


@attrs.frozen
class BenchmarkRun:
    """Per-step seconds of the measured steps (warm-up excluded) and what ran them."""

    step_seconds: tuple[float, ...]
    peak_memory_bytes: int
    device: str
    precision: str
    data_format: str
    warmup_seconds: float = 0.0  # the warm-up steps, compilation included


@attrs.frozen(kw_only=True)
class ExportRequest:
    """A serving artifact with the preprocessing of `unet predict`: normalize, then resize to
    `input_size` (or, with `native_stride`, mirror-pad to a multiple of it), predict, and back."""

    output: str
    input_size: tuple[int, int]
    normalization: tuple[float, float]
    # One per output channel (each of a model of several names its class); the manifest's
    # decision keys are written from them (ExportManifest.decision_fields).
    decisions: tuple[Decision, ...]
    step: int
    native_stride: int | None = None
    stride: int = 16  # the network's: inputs are multiples of it
    format: str = "savedmodel"
    int8: bool = False
    tta: str = "none"  # baked into the exported network
    calibration_stream: Any = attrs.field(default=None, eq=False)  # training batches for --int8
    calibration_images: int = 64
    name: str = "unet"  # --format triton: the model's name in the repository
    max_batch: int = 8  # --format triton: the largest batch Triton forms
    class_id: int | None = None  # one class: the class it learnt, when the config names it

    @property
    def thresholds(self) -> tuple[float, ...]:
        """One threshold per output channel."""
        return tuple(d.threshold for d in self.decisions)

    @property
    def geometry(self) -> str:
        return "native" if self.native_stride else "resize"


@attrs.frozen(kw_only=True)
class ExportManifest:
    """What an export holds and how its network expects images (unet_export.json)."""

    format: str
    model_file: str  # relative to the export folder
    step: int
    input_size: tuple[int, int] = attrs.field(converter=tuple)
    channels: int
    normalization: tuple[float, float] = attrs.field(converter=tuple)
    threshold: float
    min_area: int = 0
    area_at: tuple[int, int] | None = attrs.field(default=None, converter=lambda v: None if v is None else tuple(v))
    tta: str = "none"
    geometry: str = "resize"
    stride: int = 16
    precision: str = "float32"  # float32 or int8
    fixed_size: bool = False  # the network takes only input_size (TFLite)
    manifest_version: int = 3
    producer: str = ""
    input_dtype: str = "float32"  # "uint8": the model normalizes in its graph (a Triton repository's)
    min_area_by: str = "unet-defects"  # "client": the graph has no connected components; apply min_area yourself
    # Several defect classes: {class_id, name, threshold, min_area} per output channel; empty: one class.
    classes: tuple[dict, ...] = attrs.field(default=(), converter=tuple)
    # One class: the class it learnt (Severstal's ClassId, DAGM's ClassN), None when the config named none.
    class_id: int | None = None
    # One class: the classifier gate it applies ({threshold, area_bar}; several classes: a `gate`
    # in each class's entry), None without (the network may still give the head's probabilities).
    gate: dict | None = None

    @staticmethod
    def decision_fields(decisions: tuple[Decision, ...]) -> dict[str, Any]:
        """The manifest's decision keys, written by Decision.to_json: the first channel's
        threshold, min_area and area_at at the top (what version-3 readers take), then one
        class's applied gate, or several classes' entries (area_at is the export's, at the top)."""
        first = decisions[0].to_json()
        several = len(decisions) > 1
        return {"threshold": first["threshold"], "min_area": first["min_area"], "area_at": decisions[0].area_at,
                "classes": tuple(d.to_json(area_at=False) for d in decisions) if several else (),
                "gate": None if several else first.get("gate")}

    def decisions(self, origin: str) -> tuple[Decision, ...]:
        """The decision per output channel, read by Decision.from_json (a gate read is applied)."""
        if self.classes:
            return tuple(Decision.from_json(entry, origin, self.area_at) for entry in self.classes)
        top = {"threshold": self.threshold, "min_area": self.min_area, **({"gate": self.gate} if self.gate else {})}
        return (Decision.from_json(top, origin, self.area_at),)


@attrs.frozen
class TensorSpec:
    shape: tuple[int | None, ...]
    dtype: str


@attrs.frozen
class BatchSpec:
    """What one element of a stream holds; `problem` says why it is not (images, masks)."""

    images: TensorSpec | None
    masks: TensorSpec | None
    problem: str = ""


@attrs.frozen
class CompileDetails:
    summary: str  # one line: what was compiled, how long it took, what it came to
    files: tuple[str, ...] = ()


@attrs.frozen
class ChartPanel:
    title: str
    x_label: str
    lines: tuple[tuple[str, tuple[tuple[float, float], ...]], ...]  # (label, ((x, y), ...))


@attrs.frozen
class RunScalars:
    """A run's history: training series by name, evaluation scores by name (the split that
    chooses checkpoints: validation when there is one), evaluation scores by probability
    threshold (model.eval_thresholds), and the test images' scores when they are scored apart."""

    training: dict[str, Series] = attrs.field(factory=dict)
    evaluation: dict[str, Series] = attrs.field(factory=dict)
    by_threshold: dict[float, dict[str, Series]] = attrs.field(factory=dict)
    test: dict[str, Series] = attrs.field(factory=dict)


@attrs.frozen
class StepTiming:
    seconds_per_step: float
    seconds_per_evaluation_image: float  # a validation image, evaluated as the run does (tiles, TTA, scoring)
    precision: str
    machine: str = ""  # the CPU (or device) it was measured on, with its flags
    startup_seconds: float = 0.0  # before the steps run at their pace: imports, building, pipeline, tracing
