"""What the server counts: Prometheus metrics at /metrics, and a traffic line for the terminal.

prometheus_client writes the text exposition format (escaping, histogram buckets, _sum and
_count) as Prometheus scrapes it; each server keeps its own registry, so two in one process
(the tests) never share counts.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator

import numpy as np
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, disable_created_metrics, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from unet_defects.domain.drift_window import DriftFigures

disable_created_metrics()  # the *_created series only double what a scrape's own time says

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64)
CONTENT_TYPE = CONTENT_TYPE_LATEST


class DriftGauges:
    """The Inspector's drift figures, read once per scrape: a gauge per statistic for its PSI
    (absent without a reference), its bound, the window's mean and the reference's."""

    def __init__(self, figures: Callable[[], DriftFigures]) -> None:
        self._figures = figures

    def collect(self) -> Iterator[Metric]:
        found = self._figures()
        by_statistic = {
            "psi": ("unet_drift_psi", "Population stability index of the window against the model's reference"),
            "bound": ("unet_drift_bound", "The PSI past which the statistic has drifted (--drift_bounds)"),
            "window": ("unet_drift_window_value", "The window's mean of the statistic (flagged_share: the share)"),
            "reference": ("unet_drift_reference_value", "The reference's mean of the statistic"),
        }
        for key, (name, text) in by_statistic.items():
            family = GaugeMetricFamily(name, text, labels=["statistic"])
            for statistic in found.statistics:
                value = getattr(statistic, key)
                if value is not None:
                    family.add_metric([statistic.name], value)
            yield family
        drifted = GaugeMetricFamily("unet_drift_drifted", "1 while the statistic is past its bound in a judged window",
                                    labels=["statistic"])
        for statistic in found.statistics:
            drifted.add_metric([statistic.name], float(statistic.name in found.drifted))
        yield drifted
        yield GaugeMetricFamily("unet_drift_window_images", "Images the drift window holds", value=found.images)
        yield GaugeMetricFamily("unet_drift_judged", "1 once the window holds enough images and the model has a "
                                "reference", value=float(found.judged))


class ServerMetrics:
    def __init__(self, queue_depth: Callable[[], int], drift: Callable[[], DriftFigures] | None = None) -> None:
        self.registry = CollectorRegistry()
        if drift is not None:
            self.registry.register(DriftGauges(drift))
        self._requests = Counter("unet_requests", "HTTP requests answered, by endpoint and status",
                                 ["endpoint", "status"], registry=self.registry)
        self._latency = Histogram("unet_request_seconds", "Time from a request's arrival to its answer",
                                  ["endpoint"], buckets=LATENCY_BUCKETS, registry=self.registry)
        self._batches = Histogram("unet_batch_images", "Images run together by the inference worker",
                                  buckets=BATCH_BUCKETS, registry=self.registry)
        self._inference = Histogram("unet_batch_seconds", "The model's time per batch, decision included",
                                    buckets=LATENCY_BUCKETS, registry=self.registry)
        depth = Gauge("unet_queue_depth", "Requests waiting for the inference worker", registry=self.registry)
        depth.set_function(queue_depth)
        self._lock = threading.Lock()
        self.accepted = 0  # requests that reached the app
        self.answered = 0  # responses sent in full
        self._window: list[float] = []  # latencies since the last traffic line
        self._window_errors = 0
        self._window_images = 0
        self._window_batches = 0

    def request(self, endpoint: str, status: int, seconds: float) -> None:
        self._requests.labels(endpoint, str(status)).inc()
        self._latency.labels(endpoint).observe(seconds)
        with self._lock:
            self._window.append(seconds)
            self._window_errors += status >= 400

    def batch(self, images: int, seconds: float) -> None:
        self._batches.observe(images)
        self._inference.observe(seconds)
        with self._lock:
            self._window_images += images
            self._window_batches += 1

    def exposition(self) -> bytes:
        return generate_latest(self.registry)

    def traffic_line(self, seconds: float) -> str | None:
        """One line on the last `seconds` of traffic, or None when there was none."""
        with self._lock:
            latencies, errors = self._window, self._window_errors
            images, batches = self._window_images, self._window_batches
            self._window, self._window_errors, self._window_images, self._window_batches = [], 0, 0, 0
        if not latencies:
            return None
        p50, p99 = (float(v) * 1000 for v in np.percentile(latencies, [50, 99]))
        mean_batch = images / batches if batches else 0.0
        return (f"last {seconds:g} s: {len(latencies)} requests ({errors} errors), {images} images in {batches} "
                f"batches (mean {mean_batch:.1f}), latency p50 {p50:.1f} ms, p99 {p99:.1f} ms")
