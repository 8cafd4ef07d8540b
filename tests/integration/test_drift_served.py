"""`unet serve`'s drift: darkened uploads move the /metrics gauges of mean gray past its bound,
/v1/drift says so, and the terminal gets one warning line, not one per request."""

import http.client
import json
import re

import numpy as np
import pytest

pytest.importorskip("starlette")

from tests.integration.test_drift_line import copied
from unet_defects.adapters.images import png_bytes, read_gray
from unet_defects.api import Inspector
from unet_defects.serving.runner import drift_line, serving_in_thread
from unet_defects.serving.settings import ServeSettings

pytestmark = pytest.mark.slow


def gauge(text: str, name: str, statistic: str) -> float:
    found = re.search(rf'^{name}{{statistic="{statistic}"}} (\S+)$', text, re.MULTILINE)
    assert found, f"{name}{{statistic={statistic!r}}} not in /metrics"
    return float(found.group(1))


def get(address: str, path: str) -> tuple[int, str]:
    host, port = address.split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=30)
    connection.request("GET", path)
    response = connection.getresponse()
    return response.status, response.read().decode()


def test_darkened_uploads_move_the_gauges_and_print_one_warning(trained_tiny, tiny_dagm, tmp_path_factory):
    model_dir = copied(trained_tiny, tmp_path_factory, "served")
    training = [read_gray(path) for path in sorted((tiny_dagm / "Class1" / "Train").glob("*.PNG"))]
    printed: list[str] = []
    # Training's reference of 12 images: calm under 10.83 * (1/12 + 1/40) = 1.17 over halves, and
    # 13.82 * (1/12 + 1/40) = 1.50 over the size's three bins.
    settings = ServeSettings(drift_window=60, drift_min_images=40, drift_bounds="2")
    inspector = Inspector.open(model_dir=str(model_dir), drift_window=settings.drift_window,
                               drift_min_images=settings.drift_min_images, drift_bounds=settings.drift.bounds,
                               on_drift=lambda text: printed.append(drift_line(text)))  # as unet serve prints
    uploads = [png_bytes((image * 0.7).astype(np.uint8)) for image in training]
    with serving_in_thread(inspector, settings) as address:
        status, before = get(address, "/metrics")
        assert status == 200 and "unet_drift_window_images 0.0" in before and "unet_drift_judged 0.0" in before
        host, port = address.split(":")
        connection = http.client.HTTPConnection(host, int(port), timeout=30)
        for index in range(90):
            connection.request("POST", "/v1/inspect", body=uploads[index % len(uploads)])
            response = connection.getresponse()
            assert response.status == 200, response.read()
            response.read()
        status, after = get(address, "/metrics")
        _, figures = get(address, "/v1/drift")
    assert status == 200
    assert gauge(after, "unet_drift_psi", "mean_gray") > 2
    assert gauge(after, "unet_drift_drifted", "mean_gray") == 1.0
    assert gauge(after, "unet_drift_window_value", "mean_gray") < 0.75 * gauge(after, "unet_drift_reference_value",
                                                                                "mean_gray")
    assert gauge(after, "unet_drift_bound", "size") == 2 and gauge(after, "unet_drift_drifted", "size") == 0.0
    assert "unet_drift_window_images 60.0" in after and "unet_drift_judged 1.0" in after
    answer = json.loads(figures)
    assert answer["judged"] and "mean_gray" in answer["drifted"] and answer["seen"] == 90
    assert len(printed) == 1 and printed[0].startswith("unet serve: warning: drift: mean_gray PSI ")
