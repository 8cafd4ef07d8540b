"""TensorFlowCheckpoints: a model_dir's checkpoints listed, checked and restored.

A checkpoint that cannot be read (a full disk or a bad copy truncates a data shard, a shard
goes missing) never stops a run while an older one is intact: the newest readable one is
used, with one warning naming the unreadable one and what is wrong with it. Nothing is deleted.
"""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path
from typing import Any

from unet_defects.application.values import CheckpointRef
from unet_defects.domain.errors import CheckpointError
from unet_defects.domain.training import newest

log = logging.getLogger("unet")

CHECKPOINT_NAME = "model.ckpt"
STATE_FILE = "checkpoint"  # the file TensorFlow reads to list a folder's checkpoints


def step_of(path: str) -> int:
    match = re.search(r"-(\d+)$", path)
    return int(match.group(1)) if match else 0


def listed(model_dir: Path) -> list[CheckpointRef]:
    """The checkpoints the model_dir's state file lists whose index exists, in step order."""
    import tensorflow as tf

    state = tf.train.get_checkpoint_state(str(model_dir)) if model_dir.is_dir() else None
    paths = list(state.all_model_checkpoint_paths) if state else []
    refs = [CheckpointRef(step_of(p), p) for p in paths if tf.io.gfile.exists(p + ".index")]
    return sorted(refs, key=lambda ref: ref.step)


def unreadable_because(path: str) -> str | None:
    """Why the checkpoint at `path` cannot be read, in words; None when every tensor reads back."""
    import tensorflow as tf

    index = Path(path + ".index")
    if not index.is_file():
        return "its index file is missing"
    prefix = index.name[: -len(".index")]
    shards = sorted(index.parent.glob(f"{prefix}.data-*-of-*"))
    if shards:
        expected = int(shards[0].name.rsplit("-of-", 1)[1])
        for number in range(expected):
            name = f"{prefix}.data-{number:05d}-of-{expected:05d}"
            if not (index.parent / name).is_file():
                return f"data shard {name} is missing"
    try:
        reader = tf.train.load_checkpoint(path)
    except Exception:  # a garbled index raises assorted errors
        return "not a checkpoint (its index cannot be read)"
    try:
        for name in reader.get_variable_to_shape_map():
            reader.get_tensor(name)
    except Exception as error:
        missing = re.search(r"([^/\s;]+\.data-\d+-of-\d+)", str(error))
        if "No such file" in str(error) and missing:
            return f"data shard {missing.group(1)} is missing"
        return "truncated (a data shard holds fewer bytes than its index records)"
    return None


def newest_readable(refs: list[CheckpointRef]) -> tuple[CheckpointRef | None, list[tuple[CheckpointRef, str]]]:
    """The newest of `refs` that reads back, and the newer ones that do not with the reason."""
    skipped: list[tuple[CheckpointRef, str]] = []
    for ref in reversed(refs):
        reason = unreadable_because(ref.path)
        if reason is None:
            return ref, skipped
        skipped.append((ref, reason))
    return None, skipped


def _files(ref: CheckpointRef) -> list[Path]:
    path = Path(ref.path)
    return sorted(path.parent.glob(path.name + ".*"))


def write_state(directory: Path, kept: list[CheckpointRef]) -> None:
    """The `checkpoint` state file listing `kept` (oldest first, the newest as latest), written
    under a temporary name and renamed, with paths relative to the folder so it can move."""
    state = directory / STATE_FILE
    if not kept:
        state.unlink(missing_ok=True)
        return
    lines = [f'model_checkpoint_path: "{Path(kept[-1].path).name}"']
    lines += [f'all_model_checkpoint_paths: "{Path(ref.path).name}"' for ref in kept]
    temporary = directory / f".{STATE_FILE}.tmp"
    temporary.write_text("\n".join(lines) + "\n")
    os.replace(temporary, state)


class CheckpointWriter:
    """Saves in an order no kill can break: the new checkpoint's files first (TensorFlow writes
    them under temporary names), then the state file listing what is kept, and only then the
    files of the checkpoints that fell out. So every listed checkpoint is complete at every
    moment (tf.train.CheckpointManager deletes before it unlists)."""

    def __init__(self, checkpoint: Any, directory: Path, keep: int) -> None:
        checkpoint.save_counter  # created now, so that `write` stores it and a restore finds it
        self._checkpoint = checkpoint
        self._directory = directory
        self._keep = keep

    def save(self, step: int) -> str:
        path = self._checkpoint.write(str(self._directory / f"{CHECKPOINT_NAME}-{step}"))
        refs = [ref for ref in listed(self._directory) if ref.step != step] + [CheckpointRef(step, path)]
        kept_steps = set(newest([ref.step for ref in refs], self._keep))
        kept = sorted((ref for ref in refs if ref.step in kept_steps), key=lambda ref: ref.step)
        write_state(self._directory, kept)
        for ref in refs:
            if ref.step not in kept_steps:
                for file in _files(ref):
                    file.unlink(missing_ok=True)
        return path


def set_aside(model_dir: Path, damaged: list[CheckpointRef], kept: list[CheckpointRef]) -> Path:
    """List only the kept checkpoints, then move the damaged ones' files into
    `<model_dir>/unreadable/` (kept, never deleted), so that new checkpoints neither overwrite
    nor rotate them away."""
    folder = model_dir / "unreadable"
    folder.mkdir(exist_ok=True)
    write_state(model_dir, kept)
    for ref in damaged:
        for file in _files(ref):
            file.replace(folder / file.name)
    return folder


def no_readable(model_dir: Path, skipped: list[tuple[CheckpointRef, str]]) -> CheckpointError:
    ref, reason = skipped[0]
    return CheckpointError(f"{model_dir}: no readable checkpoint ({ref.path}: {reason}; every older one too); "
                           "move them away to start from step 0")


def restore_into(checkpoint: Any, path: str) -> Any:
    """checkpoint.restore(path) with one-line errors; the restore status."""
    try:
        status = checkpoint.restore(path)
        status.assert_existing_objects_matched()
    except (ValueError, AssertionError) as error:
        first = str(error).splitlines()[0][:200]
        raise CheckpointError(f"{path}: checkpoint does not match the configured model ({first})") from None
    except Exception:  # NotFoundError, DataLossError, IndexError for damage found only now
        raise CheckpointError(f"{path}: cannot read checkpoint ({unreadable_because(path) or 'unknown damage'})") \
            from None
    return status


class TensorFlowCheckpoints:
    """The Checkpoints port over a model_dir."""

    def __init__(self, model_dir: str) -> None:
        self._model_dir = Path(model_dir)

    def list(self) -> list[CheckpointRef]:
        return listed(self._model_dir)

    def _chosen(self, checkpoint: str | None) -> CheckpointRef:
        import tensorflow as tf

        if checkpoint is None:
            refs = self.list()
            if not refs:
                raise CheckpointError(f"{self._model_dir}: no checkpoint found; train first")
            chosen, skipped = newest_readable(refs)
            if chosen is None:
                raise no_readable(self._model_dir, skipped)
            for ref, reason in skipped:
                log.warning("%s: cannot read checkpoint (%s); using %s", ref.path, reason, chosen.path)
            return chosen
        if Path(checkpoint).is_dir():
            latest = tf.train.latest_checkpoint(checkpoint)
            if latest is None:
                raise CheckpointError(f"{checkpoint}: no checkpoint found in this directory")
            checkpoint = latest
        if not tf.io.gfile.exists(checkpoint + ".index"):
            raise CheckpointError(f"{checkpoint}: checkpoint not found")
        return CheckpointRef(step_of(checkpoint), checkpoint)

    def restore(self, model: Any, checkpoint: str | None = None) -> CheckpointRef:
        import tensorflow as tf

        chosen = self._chosen(checkpoint)
        restore_into(tf.train.Checkpoint(model=model), chosen.path).expect_partial()
        return chosen
