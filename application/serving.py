"""Batching across requests: one inference worker fed by a bounded queue.

A server's requests arrive one image (or a few) at a time from many clients; the model runs
best on batches. Each request is a job of images of one size. The worker takes the oldest job
and every queued job of its size, up to `max_batch` images; when other jobs were waiting
(there is concurrency) and the batch is still short, it waits at most `max_delay` seconds for
more. A job that finds the worker idle and the queue empty runs at once, so one client pays no
delay. The results go back to each job's future in order. The queue is bounded: a full one
refuses at once (the server answers 503) rather than letting latency grow without end.

Framework-free: threads and futures, so the HTTP layer only submits and awaits, and its event
loop never runs the model.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from typing import Any

import attrs
import numpy as np

from unet_defects.domain.errors import UnetError


class QueueFull(UnetError):
    """The worker's queue holds `max_queue` jobs already."""


class ShuttingDown(UnetError):
    """The worker takes no new jobs: the server is stopping."""


@attrs.define(eq=False)
class _Job:
    images: list[np.ndarray]
    future: Future

    @property
    def shape(self) -> tuple[int, ...]:
        return self.images[0].shape


class BatchingWorker:
    """`run(images) -> results`, one result per image, called from one thread on batches.

    `on_batch(images, seconds)` is told each batch's size and run time (metrics)."""

    def __init__(self, run: Callable[[list[np.ndarray]], Sequence[Any]], max_batch: int = 8,
                 max_delay: float = 0.005, max_queue: int = 64,
                 on_batch: Callable[[int, float], None] | None = None) -> None:
        if max_batch < 1 or max_queue < 1 or max_delay < 0:
            raise ValueError("BatchingWorker: max_batch and max_queue must be 1 or more, max_delay 0 or more")
        self._run = run
        self._max_batch = max_batch
        self._max_delay = max_delay
        self._max_queue = max_queue
        self._on_batch = on_batch
        self._jobs: deque[_Job] = deque()
        self._changed = threading.Condition()
        self._open = True
        self._thread = threading.Thread(target=self._loop, name="unet-inference", daemon=True)
        self._thread.start()

    @property
    def depth(self) -> int:
        """Jobs waiting, not counting the batch running."""
        return len(self._jobs)

    def submit(self, images: Sequence[np.ndarray]) -> Future:
        """A future of the images' results, in order. Raises QueueFull or ShuttingDown at once."""
        images = list(images)
        if not images or any(image.shape != images[0].shape for image in images):
            raise ValueError("BatchingWorker.submit: a job is one or more images of one shape")
        job = _Job(images, Future())
        with self._changed:
            self.check_room()
            self._jobs.append(job)
            self._changed.notify_all()
        return job.future

    def check_room(self) -> None:
        """QueueFull or ShuttingDown when a job submitted now would be refused (a server asks
        before it reads a request's body)."""
        if not self._open:
            raise ShuttingDown("the server is shutting down and takes no new requests")
        if len(self._jobs) >= self._max_queue:
            raise QueueFull(f"the inference queue is full ({self._max_queue} requests waiting); try again")

    def close(self, timeout: float | None = None) -> None:
        """Take no new jobs, finish the queued ones, then stop the thread (waiting at most
        `timeout` seconds for it)."""
        with self._changed:
            self._open = False
            self._changed.notify_all()
        self._thread.join(timeout)

    def _loop(self) -> None:
        while True:
            with self._changed:
                while not self._jobs and self._open:
                    self._changed.wait()
                if not self._jobs:
                    return
                batch = self._gather()
            self._execute(batch)

    def _gather(self) -> list[_Job]:
        """The oldest job and queued jobs of its shape (the lock held); waits for more only when
        others were queued already and the batch is short."""
        first = self._jobs.popleft()
        batch, count = [first], len(first.images)
        concurrent = bool(self._jobs)
        deadline = time.monotonic() + self._max_delay
        while count < self._max_batch:
            count += self._take_same_shape(first.shape, batch, self._max_batch - count)
            remaining = deadline - time.monotonic()
            if count >= self._max_batch or not concurrent or remaining <= 0 or not self._open:
                break
            self._changed.wait(remaining)
        return [job for job in batch if job.future.set_running_or_notify_cancel()]

    def _take_same_shape(self, shape: tuple[int, ...], batch: list[_Job], room: int) -> int:
        taken = 0
        for job in list(self._jobs):
            if job.shape == shape and len(job.images) <= room - taken:
                self._jobs.remove(job)
                batch.append(job)
                taken += len(job.images)
        return taken

    def _execute(self, batch: list[_Job]) -> None:
        if not batch:
            return
        images = [image for job in batch for image in job.images]
        started = time.perf_counter()
        try:
            results = list(self._run(images))
            if len(results) != len(images):
                raise RuntimeError(f"the model gave {len(results)} results for {len(images)} images")
        except Exception as error:  # every waiting request hears of it; the worker lives on
            for job in batch:
                job.future.set_exception(error)
            return
        start = 0
        for job in batch:
            job.future.set_result(results[start:start + len(job.images)])
            start += len(job.images)
        if self._on_batch is not None:
            try:
                self._on_batch(len(images), time.perf_counter() - started)
            except Exception:  # a metrics fault must not stop the model
                pass
