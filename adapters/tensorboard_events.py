"""What a run wrote to TensorBoard, read back: scalar series and image tags per folder."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from unet_defects.domain.errors import DataError

Series = dict[str, list[tuple[int, float]]]  # tag -> (step, value) in step order


def _accumulator(folder: Path):
    from tensorboard.backend.event_processing.event_accumulator import TENSORS, EventAccumulator

    accumulator = EventAccumulator(str(folder), size_guidance={TENSORS: 0})  # 0: keep every event
    accumulator.Reload()
    return accumulator


def _plugin(accumulator, tag: str) -> str:
    return accumulator.SummaryMetadata(tag).plugin_data.plugin_name


def read_scalars(folder: str | os.PathLike) -> Series:
    """Every scalar the event files directly in `folder` hold; a later value at the same step
    (a resumed run) replaces the earlier one."""
    from tensorboard.util import tensor_util

    folder = Path(folder)
    if not list(folder.glob("events.out.tfevents.*")):
        return {}
    try:
        accumulator = _accumulator(folder)
    except Exception as error:  # corrupt event files raise assorted errors
        raise DataError(f"{folder}: cannot read TensorBoard events ({str(error).splitlines()[0][:160]})") from None
    series: Series = {}
    for tag in accumulator.Tags()["tensors"]:
        if _plugin(accumulator, tag) != "scalars":
            continue
        by_step = {event.step: float(np.asarray(tensor_util.make_ndarray(event.tensor_proto)).reshape(()))
                   for event in accumulator.Tensors(tag)}
        series[tag] = sorted(by_step.items())
    return series


def image_tags(folder: str | os.PathLike) -> list[str]:
    accumulator = _accumulator(Path(folder))
    return sorted(tag for tag in accumulator.Tags()["tensors"] if _plugin(accumulator, tag) == "images")
