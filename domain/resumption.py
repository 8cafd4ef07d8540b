"""Which images of an archive are still to predict, and the names that keep a rerun from
writing one twice.

A batch's lines go into one shard file named by what it holds: the same batch, retried after a
worker died, writes the same name (a rename over it), never a second copy. An image is done
once its line is in a shard, and its line is written only after its masks were moved into
place, so an image whose line is missing is simply predicted again.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from pathlib import PurePath

SHARD_PREFIX = "predictions-"
SHARD_SUFFIX = ".jsonl"


def shard_name(files: Iterable[str]) -> str:
    """predictions-<digest of the batch's files>.jsonl, whatever their order."""
    digest = hashlib.sha1("\n".join(sorted(files)).encode("utf-8")).hexdigest()[:20]
    return f"{SHARD_PREFIX}{digest}{SHARD_SUFFIX}"


def is_shard(name: str) -> bool:
    return name.startswith(SHARD_PREFIX) and name.endswith(SHARD_SUFFIX)


def pending(files: Sequence[str], done: Iterable[str]) -> list[str]:
    """The files not done yet, in their order."""
    finished = set(done)
    return [name for name in files if name not in finished]


def stem_clash(files: Sequence[str]) -> tuple[str, str] | None:
    """Two inputs whose outputs share a name (<stem>_mask.png), or None."""
    seen: dict[str, str] = {}
    for name in files:
        stem = PurePath(name).stem
        if stem in seen:
            return seen[stem], name
        seen[stem] = name
    return None
