"""The inference session: every command that runs a model opens it here, once.

A session is what runs (an engine, with test-time augmentation built in or around it), how it
takes images (size, channels, normalization, stride, the geometry it was trained for), the
decision on its probabilities (threshold and min_area, and where they came from), and which
checkpoint or export it is, in words. `unet predict`, evaluation, `unet calibrate`, `unet
export`, the inference benchmark and the Inspector all open one through `SessionOpener`.
"""

from __future__ import annotations

from typing import Any

import attrs
import numpy as np

from unet_defects.application.inference import calibrated, with_tta
from unet_defects.application.options import InferenceOptions
from unet_defects.application.ports import (
    BestKeeper,
    CalibrationStore,
    Checkpoints,
    Engines,
    InferenceEngine,
    Model,
    ModelBuilder,
)
from unet_defects.application.values import CheckpointRef
from unet_defects.domain import tta as augmentation
from unet_defects.domain.data import DataSpec, normalize
from unet_defects.domain.decision import Decision
from unet_defects.domain.errors import ConfigError
from unet_defects.domain.masks import DecisionRule
from unet_defects.domain.tiling import PredictGeometry, default_overlap, mode_for_fit
from unet_defects.domain.topology import UNetSpec

# Which checkpoint a command takes when none is named.
BEST_KEPT = "best"  # predict, export, calibrate: the best kept, else the newest
NEWEST = "newest"  # evaluation: the newest (a run's evaluations follow its training)


def restore_chosen(checkpoints: Checkpoints, best: BestKeeper | None, model: Model,
                   checkpoint: str | None) -> tuple[CheckpointRef, str]:
    """The given checkpoint, else the best one kept (runconfig.keep_best; not asked when `best`
    is None), else the newest: restored into `model`, with which it was, in words."""
    if checkpoint is not None:
        return checkpoints.restore(model, checkpoint), f"checkpoint {checkpoint}"
    kept = best.best() if best is not None else None
    if kept is not None:
        return checkpoints.restore(model, kept.checkpoint.path), kept.describe()
    restored = checkpoints.restore(model)
    return restored, f"the latest checkpoint, step {restored.step}"


@attrs.frozen(eq=False)
class InferenceSession:
    engine: InferenceEngine  # with the asked-for TTA around it
    # One per output channel, K >= 1; each of a model of several names its class (class_id, name).
    decisions: tuple[Decision, ...]
    size: tuple[int, int]  # the training size: resize target and default tile
    channels: int
    normalization: tuple[float, float]
    stride: int
    mode: str  # the geometry it was trained for
    step: int
    source: str  # which checkpoint or export, in words
    path: str  # the checkpoint or export folder
    tta: str = "none"  # in effect, built in or around the engine
    tta_built_in: bool = False
    model: Any = None  # the restored network of a checkpoint session (export, graph evaluation)
    precision: str = "float32"
    class_id: int | None = None  # one class: the class it learnt, when its config or manifest names it

    @property
    def decision(self) -> Decision:
        """The first channel's decision: a one-class model's only one."""
        return self.decisions[0]

    @property
    def several(self) -> bool:
        """Several defect classes. Only what a user reads asks: a one-class model's files, answers
        and messages name no class, as they always have."""
        return len(self.decisions) > 1

    @property
    def classes(self) -> tuple[tuple[int, str], ...]:
        """(class id, name) per output channel of a model of several classes; () for one class."""
        return tuple((d.class_id, d.name) for d in self.decisions if d.class_id is not None) if self.several else ()

    @property
    def has_classifier(self) -> bool:
        """The engine gives the classifier head's image probabilities."""
        return self.engine.has_classifier

    @property
    def gated(self) -> bool:
        """model.decision_gate: classifier is applied."""
        return any(decision.gated for decision in self.decisions)

    @property
    def is_export(self) -> bool:
        return self.model is None

    def geometry(self, options: InferenceOptions) -> PredictGeometry:
        """The options' geometry over the training's; tiles of the training size at the
        network's stride, overlapping by an eighth of their shorter side (at most 32 pixels)."""
        tile = options.tile or self.size
        overlap = default_overlap(tile) if options.overlap is None else options.overlap
        return PredictGeometry(mode=options.geometry or self.mode, tile=tile, overlap=overlap, stride=self.stride)

    def model_input(self, image: np.ndarray) -> np.ndarray:
        """(H, W) uint8 gray -> normalized (H, W, C) float32; the gray feeds every input channel."""
        normalized = normalize(image[..., None], self.normalization)
        return np.repeat(normalized, self.channels, axis=-1) if self.channels > 1 else normalized


def named_class(data: DataSpec) -> int | None:
    """The one class a config names (train_input.class_id, or a defect_classes of one), else None."""
    if data.class_id is not None:
        return data.class_id
    return data.defect_classes[0] if data.defect_classes and len(data.defect_classes) == 1 else None


class SessionOpener:
    """Opens a model_dir's checkpoint with its calibration, or an export with its manifest;
    the options' flags override either. The built network is kept between opens, so a run's
    repeated evaluations restore into one model and trace its engine once."""

    def __init__(self, builder: ModelBuilder, checkpoints: Checkpoints, best: BestKeeper | None,
                 engines: Engines | None, topology: UNetSpec, data: DataSpec, rule: DecisionRule,
                 calibration: CalibrationStore | None = None, precision: str = "float32",
                 gate: str = "none", tta: str = "none") -> None:
        self._builder = builder
        self._checkpoints = checkpoints
        self._best = best
        self._engines = engines
        self._topology = topology
        self._data = data
        self._rule = rule
        self._calibration = calibration
        self._precision = precision
        self._gate = gate  # model.decision_gate
        self._tta = tta  # model.inference_tta: what a checkpoint runs with unless a flag says otherwise
        self._model: Any = None
        self._engine: InferenceEngine | None = None

    def open(self, options: InferenceOptions = InferenceOptions(), choose: str = BEST_KEPT,
             checkpoint: str | None = None, check_input: bool = True) -> InferenceSession:
        """`checkpoint` over `options.checkpoint` over the command's choice; `check_input`: the
        images come through this configuration, so an export must take them as it does."""
        if options.model is not None:
            return self._export(options, check_input)
        model = self._built()
        best = self._best if choose == BEST_KEPT else None
        restored, source = restore_chosen(self._checkpoints, best, model, checkpoint or options.checkpoint)
        head = self._gate if self._topology.classifier_head else None
        decisions = tuple(decision.with_flags(options.threshold, options.min_area) for decision in
                          calibrated(self._rule.probability_cutoff, self._calibration, self._data.classes, head))
        return self._session(self._tensorflow_engine(model), options, decisions, restored.step, source,
                             restored.path, model)

    def fresh(self, options: InferenceOptions = InferenceOptions()) -> InferenceSession:
        """The configured network with its initial weights (benchmarks without a trained
        model_dir), or the options' export."""
        if options.model is not None:
            return self._export(options, check_input=False)
        model = self._built()
        decisions = calibrated(self._rule.probability_cutoff, None, self._data.classes,
                               self._gate if self._topology.classifier_head else None)
        return self._session(self._tensorflow_engine(model), options, decisions, 0, "fresh weights (no checkpoint)",
                             "", model)

    def tta_for(self, options: InferenceOptions) -> str:
        """The test-time augmentation a checkpoint session runs: the flag's, else the model's own."""
        return self._tta if options.tta is None else options.tta

    def _built(self) -> Any:
        if self._model is None:
            self._model = self._builder.build(self._topology)
        return self._model

    def _tensorflow_engine(self, model: Any) -> InferenceEngine:
        if self._engines is None:
            return model
        if self._engine is None:
            self._engine = self._engines.from_model(model)
        return self._engine

    def _session(self, engine: InferenceEngine, options: InferenceOptions, decisions: tuple[Decision, ...], step: int,
                 source: str, path: str, model: Any) -> InferenceSession:
        several = len(decisions) > 1
        if several:  # each names its class
            decisions = tuple(attrs.evolve(d, class_id=class_id, name=name)
                              for d, class_id, name in zip(decisions, self._data.classes, self._data.class_names))
        return InferenceSession(
            class_id=None if several else named_class(self._data), decisions=decisions,
            engine=with_tta(engine, self.tta_for(options)), size=(self._data.height, self._data.width),
            channels=self._data.channels, normalization=self._data.normalization(), stride=self._topology.stride,
            mode=mode_for_fit(self._data.image_fit), step=step, source=source, path=path, tta=self.tta_for(options),
            model=model, precision=self._precision)

    def _export(self, options: InferenceOptions, check_input: bool) -> InferenceSession:
        if self._engines is None:
            raise ValueError("running an export needs the engines adapter")
        folder = options.model
        assert folder is not None  # open and fresh take this path only with an export
        engine, manifest = self._engines.from_export(options.engine, folder)
        where = f"{folder}/unet_export.json"
        exported = manifest.decisions(where)  # read once, through Decision.from_json
        gated = any(d.gate is not None for d in exported)
        if gated and not engine.has_classifier:
            raise ConfigError(f"{where}: the manifest applies a classifier gate, but the model gives no "
                              f"{options.engine} classifier output; export the model again")
        if check_input and self._gate == "classifier" and not gated:
            raise ConfigError(f"{where}: the export applies no classifier gate, the config's model.decision_gate is "
                              "classifier; export the model again with the config, or run its model_dir")
        if check_input:
            if not np.allclose(manifest.normalization, self._data.normalization()):
                raise ConfigError(f"{where}: normalization {tuple(manifest.normalization)} differs from the "
                                  f"config's {tuple(self._data.normalization())}; pass the training's params")
            if manifest.channels != self._data.channels:
                raise ConfigError(f"{where}: the network takes {manifest.channels} channels, the config's images "
                                  f"have {self._data.channels}; pass the training's params")
            held = tuple(c["class_id"] for c in manifest.classes) or None
            if held is not None and held != self._data.classes or held is None and len(self._data.classes) > 1:
                has = f"the classes {list(held)}" if held else "one class"
                raise ConfigError(f"{where}: the export has {has}, the config the classes {list(self._data.classes)}; "
                                  "pass the training's params")
            asked = named_class(self._data)
            if held is None and None not in (manifest.class_id, asked) and manifest.class_id != asked:
                raise ConfigError(f"{where}: the export is a model of class {manifest.class_id}, the config asks for "
                                  f"class {asked}; pass the training's params")
        if manifest.tta != "none" and options.tta not in (None, "none"):
            raise ConfigError(f"--tta {options.tta}: {folder} has tta {manifest.tta} built in; drop --tta")
        if options.tta == "d4" and manifest.fixed_size:
            augmentation.check_shape(options.tta, *manifest.input_size)
        # The model's own config with decision_gate none reports the export's gate, as its model_dir does.
        applied = not (check_input and self._gate == "none")
        decisions = tuple(attrs.evolve(d, gated=d.gated and applied).with_flags(options.threshold, options.min_area)
                          for d in exported)
        tta = manifest.tta if manifest.tta != "none" else (options.tta or "none")
        return InferenceSession(
            decisions=decisions, class_id=manifest.class_id,
            engine=with_tta(engine, options.tta), size=manifest.input_size,
            channels=manifest.channels, normalization=manifest.normalization, stride=manifest.stride,
            mode=manifest.geometry, step=manifest.step, path=folder, tta=tta, tta_built_in=manifest.tta != "none",
            source=f"the export {folder} ({options.engine}, {manifest.format}, {manifest.precision}, "
                   f"step {manifest.step})", precision=manifest.precision)
