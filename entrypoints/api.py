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

import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from unet_defects.application.batching import ProbabilityMaps
from unet_defects.application.inspection import Inspection, inspected
from unet_defects.application.options import DEFAULT_ENGINE, InferenceOptions
from unet_defects.application.session import BEST_KEPT, InferenceSession
from unet_defects.domain.errors import ConfigError, UnetError

DEFAULT_MAX_PIXELS = 64_000_000
_CHANNELS = {1: "gray", 3: "RGB", 4: "RGBA"}

__all__ = ["DEFAULT_MAX_PIXELS", "Inspection", "Inspector"]


def checked_image(image: object, max_pixels: int, where: str = "image") -> np.ndarray:
    """An (H, W) uint8 gray image from what a caller passed, by predict's reading rules, or a
    one-line ValueError saying what is wrong with it."""
    from unet_defects.adapters.images import to_gray_uint8

    if not isinstance(image, np.ndarray):
        raise ValueError(f"{where}: expected a numpy array, got {type(image).__name__}")
    if image.dtype not in (np.uint8, np.uint16):
        raise ValueError(f"{where}: dtype {image.dtype} is not an image's; expected uint8 or uint16")
    if image.ndim not in (2, 3) or (image.ndim == 3 and image.shape[2] not in _CHANNELS):
        raise ValueError(f"{where}: shape {image.shape}; expected H x W, or H x W x 1, 3 or 4 channels")
    if image.shape[0] == 0 or image.shape[1] == 0:
        raise ValueError(f"{where}: shape {image.shape} holds no pixels")
    pixels = image.shape[0] * image.shape[1]
    if pixels > max_pixels:
        raise ValueError(f"{where}: {image.shape[0]} x {image.shape[1]} = {pixels:,} pixels, more than the "
                         f"inspector's limit of {max_pixels:,} (Inspector.open(max_pixels=...))")
    return to_gray_uint8(image, where)


class Inspector:
    """A model opened once; `inspect` and `inspect_many` take numpy arrays."""

    def __init__(self, container, session: InferenceSession, options: InferenceOptions,
                 max_pixels: int = DEFAULT_MAX_PIXELS, batch_size: int = 8) -> None:
        self._session = session
        self._geometry = session.geometry(options)
        self._maps = ProbabilityMaps(container.predictor(), batch_size)
        self._components = container.components()
        self._max_pixels = max_pixels
        self._lock = threading.Lock()

    @classmethod
    def open(cls, model_dir: str | None = None, export: str | None = None, engine: str = DEFAULT_ENGINE,
             tta: str | None = None, threshold: float | None = None, min_area: int | None = None,
             geometry: str | None = None, max_pixels: int = DEFAULT_MAX_PIXELS,
             checkpoint: str | None = None, batch_size: int = 8) -> Inspector:
        """A model_dir's checkpoint (the given one, else the best kept, else the newest) with its
        calibration, or an export with its manifest; the arguments override either."""
        from unet_defects.container import build_container

        if (model_dir is None) == (export is None):
            raise ConfigError("Inspector.open: give one of model_dir (a trained model) or export (unet export)")
        if max_pixels < 1:
            raise ConfigError(f"Inspector.open: max_pixels must be 1 or more, got {max_pixels}")
        options = InferenceOptions(engine=engine, model=export, checkpoint=checkpoint, tta=tta,
                                   threshold=threshold, min_area=min_area, geometry=geometry)
        if model_dir is not None:
            params = Path(model_dir) / "params.yaml"
            if not params.is_file():
                raise UnetError(f"{params}: no params.yaml in the model_dir (not a trained model_dir)")
            container = build_container(str(params), {"model_dir": str(model_dir)}, options=options)
        else:
            container = build_container(None, options=options)  # the export's manifest says the rest
        session = container.session_opener().open(options, BEST_KEPT, check_input=model_dir is not None)
        return cls(container, session, options, max_pixels, batch_size)

    @property
    def session(self) -> InferenceSession:
        """What runs: its source in words, step, decision, geometry and TTA."""
        return self._session

    def inspect(self, image: np.ndarray) -> Inspection:
        return self.inspect_many([image])[0]

    def inspect_many(self, images: Sequence[np.ndarray]) -> list[Inspection]:
        """Each image's inspection, in order; images of one size share batches."""
        gray = [checked_image(image, self._max_pixels, f"image {index}" if len(images) > 1 else "image")
                for index, image in enumerate(images)]
        with self._lock:
            maps = {key: (probabilities, classified) for key, _, probabilities, classified in
                    self._maps.run(self._session, self._geometry, enumerate(gray))}
        return [inspected(maps[index][0], self._session.class_decisions, self._components, self._session.classes,
                          maps[index][1]) for index in range(len(gray))]
