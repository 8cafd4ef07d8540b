"""The library's API for a service at the line: open a trained model once, inspect arrays.

    from unet_defects import Inspector

    inspector = Inspector.open(model_dir="runs/tiles")  # or export="exports/tiles", engine="onnxruntime"
    result = inspector.inspect(frame)                   # a numpy array from the camera
    if result.defective:
        for defect in result.defects:
            print(defect.bbox, defect.area, defect.max_probability)

It runs the same code as `unet predict`: the inference session (checkpoint with calibration,
or export with manifest; flags over either), the same gray conversion and normalization, the
same batching or tiling, the same decision. Thread-safe: one lock around the model, so calls
from several threads run one at a time through it; the decision's labelling runs outside it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import numpy as np

from unet_defects.application.inspection import Inspection
from unet_defects.application.inspector import DEFAULT_MAX_PIXELS, InspectUseCase
from unet_defects.application.options import DEFAULT_ENGINE, InferenceOptions
from unet_defects.application.session import InferenceSession
from unet_defects.domain.drift import STATISTICS
from unet_defects.domain.drift_window import DEFAULT_MIN_IMAGES, DEFAULT_WINDOW, DriftFigures, DriftSettings
from unet_defects.domain.errors import ConfigError, UnetError

__all__ = ["DEFAULT_MAX_PIXELS", "DriftFigures", "Inspection", "Inspector"]


class Inspector:
    """A model opened once; `inspect` and `inspect_many` take numpy arrays. `open` builds the
    container and asks it for the inspect use case (application/inspector.py), which does the
    work."""

    def __init__(self, use_case: InspectUseCase) -> None:
        self._use_case = use_case

    @classmethod
    def open(cls, model_dir: str | None = None, export: str | None = None, engine: str = DEFAULT_ENGINE,
             tta: str | None = None, threshold: float | None = None, min_area: int | None = None,
             geometry: str | None = None, max_pixels: int = DEFAULT_MAX_PIXELS,
             checkpoint: str | None = None, batch_size: int = 8, drift_window: int = DEFAULT_WINDOW,
             drift_min_images: int = DEFAULT_MIN_IMAGES, drift_bounds: float | Mapping[str, float] | None = None,
             on_drift: Callable[[str], None] | None = None) -> Inspector:
        """A model_dir's checkpoint (the given one, else the best kept, else the newest) with its
        calibration, or an export with its manifest; the arguments override either.

        Drift (docs/serve.md): the last `drift_window` images (0: off) against the model's
        reference, judged from `drift_min_images` on; `drift_bounds`: a PSI bound for every
        statistic, or some statistics' by name; `on_drift` hears one line when a statistic
        passes its bound."""
        from unet_defects.container import build_container

        if (model_dir is None) == (export is None):
            raise ConfigError("Inspector.open: give one of model_dir (a trained model) or export (unet export)")
        if max_pixels < 1:
            raise ConfigError(f"Inspector.open: max_pixels must be 1 or more, got {max_pixels}")
        bounds = dict(drift_bounds or {}) if not isinstance(drift_bounds, (int, float)) else \
            dict.fromkeys(STATISTICS, float(drift_bounds))
        drift = DriftSettings(window=drift_window, min_images=drift_min_images, bounds=bounds)
        options = InferenceOptions(engine=engine, model=export, checkpoint=checkpoint, tta=tta,
                                   threshold=threshold, min_area=min_area, geometry=geometry)
        if model_dir is not None:
            params = Path(model_dir) / "params.yaml"
            if not params.is_file():
                raise UnetError(f"{params}: no params.yaml in the model_dir (not a trained model_dir)")
            container = build_container(str(params), {"model_dir": str(model_dir)}, options=options)
        else:
            container = build_container(None, options=options)  # the export's manifest says the rest
        return cls(container.inspect(max_pixels=max_pixels, pipeline__maps__batch_size=batch_size,
                                     session__check_input=model_dir is not None, drift=drift, alarm=on_drift))

    @property
    def session(self) -> InferenceSession:
        """What runs: its source in words, step, decision, geometry and TTA."""
        return self._use_case.session

    @property
    def max_pixels(self) -> int:
        """The largest image taken, in pixels (height x width)."""
        return self._use_case.max_pixels

    def inspect(self, image: np.ndarray) -> Inspection:
        """One image's Inspection (uint8 or uint16; gray, RGB or RGBA)."""
        return self._use_case.inspect(image)

    def inspect_many(self, images: Sequence[np.ndarray]) -> list[Inspection]:
        """Each image's Inspection, in order; images of one size share batches."""
        return self._use_case.inspect_many(images)

    def drift(self) -> DriftFigures:
        """The drift window's figures now: each statistic's PSI against the model's reference,
        its bound, the window's mean and the reference's (`.as_dict()` for JSON); a model without
        a reference says so in `.note` and gives the window's figures only."""
        return self._use_case.drift()
