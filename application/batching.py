"""Images in, probabilities out: the batching between decoded images and an engine.

`resize` squashes each image to the session's training size and the probabilities back;
`native` keeps the pixel scale, padding to the network's stride and cutting large images into
blended tiles. Tiles are cut, normalized and blended one at a time, so a huge image costs a
few bytes per pixel and not a normalized copy of itself. Images of several inputs share
batches; each comes back, in input order, once all of it is done. The file loop, artifacts and
submission stay with predict; the Inspector feeds arrays.
"""

from __future__ import annotations

import itertools
from collections.abc import Hashable, Iterable, Iterator
from typing import Generic, TypeVar

import attrs
import numpy as np

from unet_defects.application.ports import Predictor
from unet_defects.application.session import InferenceSession
from unet_defects.domain.tiling import PredictGeometry, TileBlender, TilePlan

Key = TypeVar("Key", bound=Hashable)  # a key of the caller's, given back with its image's results
Item = tuple[Key, np.ndarray]  # a key, an (H, W) uint8 gray image
# key, image, (H, W, K) float32 probabilities (a channel per defect class), and the classifier head's (K,)
# image probabilities (None without a head; over tiles, the largest of each class)
Result = tuple[Key, np.ndarray, np.ndarray, np.ndarray | None]


class ProbabilityMaps:
    def __init__(self, predictor: Predictor, batch_size: int = 8) -> None:
        self._predictor = predictor
        self._batch_size = batch_size

    def run(self, session: InferenceSession, geometry: PredictGeometry,
            items: Iterable[Item[Key]]) -> Iterator[Result[Key]]:
        if geometry.mode == "resize":
            return self._resized(session, items)
        return self._tiled(session, geometry, items)

    def _resized(self, session: InferenceSession, items: Iterable[Item[Key]]) -> Iterator[Result[Key]]:
        pending: list[Item[Key]] = []
        for item in itertools.chain(items, [None]):
            if item is not None:
                pending.append(item)
            if pending and (item is None or len(pending) == self._batch_size):
                inputs = [session.model_input(image) for _, image in pending]
                outputs, classified = self._predictor.predict(session.engine, inputs, session.size)
                del inputs
                for position, ((key, image), probabilities) in enumerate(zip(pending, outputs)):
                    yield key, image, probabilities, None if classified is None else classified[position]
                pending = []

    def _tiled(self, session: InferenceSession, geometry: PredictGeometry,
               items: Iterable[Item[Key]]) -> Iterator[Result[Key]]:
        """Tiles wait in one queue per tile shape; a full queue runs as one batch."""
        jobs: list[_TiledImage[Key]] = []
        queues: dict[tuple[int, int], list[tuple[_TiledImage[Key], int]]] = {}

        def run(shape: tuple[int, int]) -> None:
            queue = queues.pop(shape)
            tiles = np.stack([session.model_input(job.plan.tile(job.image, index)) for job, index in queue])
            outputs, classified = self._predictor.predict_tiles(session.engine, tiles)
            del tiles
            for position, ((job, index), output) in enumerate(zip(queue, outputs)):
                job.blender.add(index, output)
                if classified is not None:  # a part has a defect when any of its tiles has
                    found = classified[position]
                    job.classified = found if job.classified is None else np.maximum(job.classified, found)

        def finished() -> Iterator[Result[Key]]:
            while jobs and jobs[0].blender.complete:
                job = jobs.pop(0)
                yield job.key, job.image, job.blender.result(), job.classified

        for key, image in items:
            height, width = image.shape[:2]
            plan = TilePlan.for_image(height, width, geometry)
            job = _TiledImage(key, image, plan, plan.blender(len(session.decisions)))
            jobs.append(job)
            for index in range(len(plan.origins)):
                queue = queues.setdefault(plan.tile_shape, [])
                queue.append((job, index))
                if len(queue) == self._batch_size:
                    run(plan.tile_shape)
            if len(jobs) > 4 * self._batch_size:  # a lone tile shape must not hold every image back
                for shape in list(queues):
                    run(shape)
            yield from finished()
        for shape in list(queues):
            run(shape)
        yield from finished()


@attrs.define
class _TiledImage(Generic[Key]):
    key: Key
    image: np.ndarray
    plan: TilePlan
    blender: TileBlender
    classified: np.ndarray | None = None  # the classifier's largest probability per class over the tiles so far
