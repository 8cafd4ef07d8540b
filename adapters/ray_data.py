"""The archive's batch engine on Ray Data: a pool of actors, each opening the model once.

Ray Data restarts an actor that dies and runs its batch again, so the driver receives each
batch's outcome once. The workers' own output stays in Ray's session folder: their errors reach
the driver as exceptions, and TensorFlow's start-up lines from every worker would bury its
progress.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator, Sequence

from unet_defects.adapters.ray_cluster import connected_ray, local_workers, project_error
from unet_defects.adapters.runtimes.extras import require
from unet_defects.application.prediction_ports import BatchOutcome, Item
from unet_defects.domain.errors import UnetError


class _Worker:
    """A Ray Data actor: the project's worker, opened once, over batches of rows."""

    def __init__(self, open_worker: Callable[[], Callable[[Sequence[Item]], BatchOutcome]]) -> None:
        self._failed: UnetError | None = None
        try:
            self._work = open_worker()
        except UnetError as error:  # raised with its first batch: Ray keeps a task's error, an actor's only as text
            self._failed = error

    def __call__(self, batch: dict) -> dict:
        import numpy as np

        if self._failed is not None:
            raise self._failed
        outcome = self._work(list(zip(batch["file"].tolist(), batch["path"].tolist())))
        return {"record": np.array([json.dumps(record) for record in outcome.records()], dtype=object)}


def batch_size(images: int, workers: int, largest: int = 64, multiple: int = 8) -> int:
    """Images per batch: about four batches per worker, so that progress moves and a lost
    batch costs little, in whole model batches (`multiple`), at most `largest` (past it the
    per-batch overhead is already small)."""
    share = -(-images // (4 * workers))
    return min(largest, max(multiple, -(-share // multiple) * multiple))


class RayDataRunner:
    """`workers` actors (default: one per CPU of the cluster), each opening the model once."""

    def __init__(self, address: str | None = None, workers: int | None = None,
                 say: Callable[[str], None] = lambda text: None) -> None:
        self._address = address
        self._workers = workers
        self._say = say

    def run(self, items: Sequence[Item], open_worker: Callable[[], Callable[[Sequence[Item]], BatchOutcome]],
            ) -> Iterator[BatchOutcome]:
        if self._workers is not None:
            local_workers(self._address, self._workers)
        with connected_ray(self._address, "unet predict --ray", self._say, log_to_driver=False) as ray:
            data = require("ray.data", "unet predict --ray", extra="scale")
            context = data.DataContext.get_current()
            context.enable_progress_bars = False  # the driver prints its own: images, images/s, the end
            context.raise_original_map_exception = True  # a worker's project error, not Ray's UserCodeException
            logging.getLogger("ray.data").setLevel(logging.ERROR)  # not even to say that they are off
            workers = self._workers or max(1, int(ray.cluster_resources().get("CPU", 1)))
            size = batch_size(len(items), workers)
            blocks = -(-len(items) // size)
            rows = data.from_items([{"file": name, "path": path} for name, path in items], override_num_blocks=blocks)
            # From one actor up: a cluster with fewer free CPUs than --workers still gets on with it.
            pool = data.ActorPoolStrategy(min_size=1, max_size=min(workers, blocks))
            results = rows.map_batches(_Worker, fn_constructor_args=(open_worker,), batch_size=size, compute=pool,
                                       num_cpus=1, batch_format="numpy")
            try:
                for batch in results.iter_batches(batch_size=None, batch_format="numpy"):
                    yield BatchOutcome.from_records(json.loads(text) for text in batch["record"].tolist())
            except Exception as error:
                cause = project_error(error)
                if cause is None:
                    raise
                cause.args = (str(cause).splitlines()[0],)  # Ray Data appends its retry advice to the message
                raise cause.with_traceback(None) from None  # a worker's project error: its one line, not Ray's wrapping
