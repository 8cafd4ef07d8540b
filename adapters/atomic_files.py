"""Files written whole or not at all: a temporary name beside the target, then a rename, so a
crash at any point leaves the old file or the new one, never half of either."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path


def write_text(target: str | os.PathLike, text: str, durable: bool = False) -> str:
    """`durable`: flushed to the disk before the rename (a resumable run's record, which a
    machine's crash must not leave empty under its final name)."""
    target = Path(target)
    temporary = target.with_name(f".{target.name}.tmp")
    with open(temporary, "w", encoding="utf-8") as handle:
        handle.write(text)
        if durable:
            handle.flush()
            os.fsync(handle.fileno())
    os.replace(temporary, target)
    return str(target)


def write_json_lines(target: str | os.PathLike, rows: Iterable[dict], durable: bool = False) -> str:
    """One JSON object per line."""
    return write_text(target, "".join(json.dumps(row) + "\n" for row in rows), durable)
