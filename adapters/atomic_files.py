"""Files written whole or not at all: a temporary name beside the target, then a rename, so a
crash at any point leaves the old file or the new one, never half of either."""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TextIO


@contextlib.contextmanager
def atomic_writer(target: str | os.PathLike, durable: bool = False) -> Iterator[TextIO]:
    """A text handle whose file replaces `target` when the block ends without an error.
    `durable`: flushed to the disk before the rename (a resumable run's record, which a
    machine's crash must not leave empty under its final name)."""
    target = Path(target)
    temporary = target.with_name(f".{target.name}.tmp")
    with open(temporary, "w", encoding="utf-8") as handle:
        yield handle
        if durable:
            handle.flush()
            os.fsync(handle.fileno())
    os.replace(temporary, target)


def write_text(target: str | os.PathLike, text: str, durable: bool = False) -> str:
    with atomic_writer(target, durable) as handle:
        handle.write(text)
    return str(target)


def write_json_lines(target: str | os.PathLike, rows: Iterable[dict], durable: bool = False) -> str:
    """One JSON object per line."""
    with atomic_writer(target, durable) as handle:
        handle.writelines(json.dumps(row) + "\n" for row in rows)
    return str(target)


def write_bytes(target: str | os.PathLike, data: bytes) -> str:
    target = Path(target)
    temporary = target.with_name(f".{target.name}.tmp")
    temporary.write_bytes(data)
    os.replace(temporary, target)
    return str(target)
