"""Which checkpoint a trained model's commands (predict, export) use, when none is named."""

from __future__ import annotations

from application.ports import BestKeeper, Checkpoints, Model
from application.values import CheckpointRef


def restore_chosen(checkpoints: Checkpoints, best: BestKeeper, model: Model,
                   checkpoint: str | None) -> tuple[CheckpointRef, str]:
    """The given checkpoint, else the best one kept (runconfig.keep_best), else the newest:
    restored into `model`, with which it was, in words."""
    if checkpoint is not None:
        return checkpoints.restore(model, checkpoint), f"checkpoint {checkpoint}"
    kept = best.best()
    if kept is not None:
        return checkpoints.restore(model, kept.checkpoint.path), kept.describe()
    restored = checkpoints.restore(model)
    return restored, f"the latest checkpoint, step {restored.step}"
