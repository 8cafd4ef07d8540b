"""What a command asks of inference, apart from the configuration: which engine runs which
model, with which test-time augmentation, decision and geometry. Every command that runs a
model hands one of these to the inference session; none of it travels through `runconfig`."""

from __future__ import annotations

import attrs

from unet_defects.domain import tta as augmentation
from unet_defects.domain.decision import check_pixel_decision
from unet_defects.domain.errors import ConfigError
from unet_defects.domain.tiling import GEOMETRIES

DEFAULT_ENGINE = "tensorflow"  # runs a model_dir's checkpoint or a SavedModel export


def _pair(value):
    return None if value is None else tuple(int(side) for side in value)


@attrs.frozen(kw_only=True)
class InferenceOptions:
    engine: str = DEFAULT_ENGINE
    model: str | None = None  # an export folder (unet export) instead of the model_dir's checkpoint
    checkpoint: str | None = None  # a model_dir checkpoint instead of the command's default choice
    tta: str | None = None  # None: the model's own (model.inference_tta, or an export's built-in)
    threshold: float | None = None  # over the calibration, the manifest or the config
    min_area: int | None = None
    geometry: str | None = None  # resize or native; None: what the model was trained for
    tile: tuple[int, int] | None = attrs.field(default=None, converter=_pair)
    overlap: int | None = None

    def __attrs_post_init__(self) -> None:
        if self.tta is not None:
            augmentation.transforms(self.tta)  # an unknown mode fails here, before any work
        if self.engine != DEFAULT_ENGINE and self.model is None:
            raise ConfigError(f"--engine {self.engine}: needs --model EXPORT_DIR (an export made by unet export)")
        if self.geometry is not None and self.geometry not in GEOMETRIES:
            raise ConfigError(f"--geometry: unknown {self.geometry!r}; expected one of: {', '.join(GEOMETRIES)}")
        if self.threshold is not None or self.min_area is not None:
            check_pixel_decision(0.5 if self.threshold is None else self.threshold, self.min_area or 0, "from the flags")
