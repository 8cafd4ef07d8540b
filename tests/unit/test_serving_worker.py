"""The batching worker with a fake model: what runs together, what waits, what is refused."""

import threading
import time

import numpy as np
import pytest

from unet_defects.application.serving import BatchingWorker, QueueFull, ShuttingDown


class Recorder:
    """A fake model: records each batch's images, answers each image with its first pixel;
    `gate` holds every batch until it is set."""

    def __init__(self) -> None:
        self.batches: list[list[int]] = []
        self.gate = threading.Event()
        self.gate.set()
        self.entered = threading.Event()

    def __call__(self, images):
        self.entered.set()
        self.gate.wait(10)
        self.batches.append([int(image.flat[0]) for image in images])
        return [int(image.flat[0]) for image in images]


def image(value: int, shape=(4, 4)) -> np.ndarray:
    return np.full(shape, value, np.uint8)


def held_worker(model: Recorder, **kwargs) -> BatchingWorker:
    """A worker whose first batch (value 0) is running and held, so later jobs queue."""
    model.gate.clear()
    worker = BatchingWorker(model, **kwargs)
    first = worker.submit([image(0)])
    assert model.entered.wait(5)
    worker.first = first
    return worker


def test_a_lone_job_runs_at_once_without_waiting_for_company():
    model = Recorder()
    worker = BatchingWorker(model, max_batch=8, max_delay=5.0)
    started = time.monotonic()
    assert worker.submit([image(7)]).result(timeout=10) == [7]
    assert time.monotonic() - started < 2.5  # far below the 5 s it would wait if it waited
    worker.close()


def test_queued_jobs_of_one_size_run_together_up_to_max_batch_in_order():
    model = Recorder()
    worker = held_worker(model, max_batch=4, max_delay=0.0)
    futures = [worker.submit([image(value)]) for value in range(1, 7)]
    model.gate.set()
    assert [future.result(timeout=10) for future in futures] == [[v] for v in range(1, 7)]
    assert model.batches == [[0], [1, 2, 3, 4], [5, 6]]
    worker.close()


def test_a_job_of_several_images_gets_its_own_results_back_in_order():
    model = Recorder()
    worker = held_worker(model, max_batch=8, max_delay=0.0)
    a = worker.submit([image(1), image(2), image(3)])
    b = worker.submit([image(4)])
    model.gate.set()
    assert a.result(timeout=10) == [1, 2, 3] and b.result(timeout=10) == [4]
    assert model.batches[1] == [1, 2, 3, 4]
    worker.close()


def test_images_of_another_size_never_share_a_batch():
    model = Recorder()
    worker = held_worker(model, max_batch=8, max_delay=0.0)
    futures = [worker.submit([image(1)]), worker.submit([image(2, (5, 5))]), worker.submit([image(3)])]
    model.gate.set()
    assert [future.result(timeout=10) for future in futures] == [[1], [2], [3]]
    assert model.batches[1:] == [[1, 3], [2]]
    worker.close()


def test_max_batch_1_runs_every_image_alone():
    model = Recorder()
    worker = held_worker(model, max_batch=1, max_delay=0.05)
    futures = [worker.submit([image(value)]) for value in (1, 2, 3)]
    model.gate.set()
    for future in futures:
        future.result(timeout=10)
    assert model.batches == [[0], [1], [2], [3]]
    worker.close()


def test_a_short_batch_waits_up_to_max_delay_for_more_when_others_were_queued():
    model = Recorder()
    worker = held_worker(model, max_batch=4, max_delay=1.0)
    futures = [worker.submit([image(1)]), worker.submit([image(2)])]
    model.gate.set()
    time.sleep(0.2)  # the worker holds [1, 2] and waits for two more
    futures.append(worker.submit([image(3)]))
    for future in futures:
        future.result(timeout=10)
    assert model.batches[1] == [1, 2, 3]
    worker.close()


def test_a_full_queue_refuses_at_once():
    model = Recorder()
    worker = held_worker(model, max_batch=8, max_queue=2)
    worker.submit([image(1)])
    worker.submit([image(2)])
    with pytest.raises(QueueFull, match="queue is full"):
        worker.submit([image(3)])
    model.gate.set()
    worker.close()


def test_close_answers_every_queued_job_then_refuses_new_ones():
    model = Recorder()
    worker = held_worker(model, max_batch=2, max_delay=0.0)
    futures = [worker.submit([image(value)]) for value in (1, 2, 3)]
    closer = threading.Thread(target=worker.close)
    closer.start()
    time.sleep(0.05)
    with pytest.raises(ShuttingDown):
        worker.submit([image(4)])
    model.gate.set()
    closer.join(10)
    assert not closer.is_alive()
    assert [future.result(timeout=1) for future in [worker.first, *futures]] == [[0], [1], [2], [3]]


def test_a_failing_batch_fails_its_jobs_and_the_worker_lives_on():
    calls = []

    def model(images):
        calls.append(len(images))
        if len(calls) == 1:
            raise ValueError("image 0: bad")
        return list(range(len(images)))

    worker = BatchingWorker(model)
    with pytest.raises(ValueError, match="image 0: bad"):
        worker.submit([image(1)]).result(timeout=10)
    assert worker.submit([image(1)]).result(timeout=10) == [0]
    worker.close()


def test_a_cancelled_queued_job_is_skipped():
    model = Recorder()
    worker = held_worker(model, max_batch=8, max_delay=0.0)
    dropped = worker.submit([image(1)])
    kept = worker.submit([image(2)])
    assert dropped.cancel()
    model.gate.set()
    assert kept.result(timeout=10) == [2]
    assert model.batches[1] == [2]
    worker.close()


def test_a_job_must_be_images_of_one_shape():
    worker = BatchingWorker(Recorder())
    with pytest.raises(ValueError, match="one shape"):
        worker.submit([image(1), image(2, (5, 5))])
    worker.close()
