"""The server on loopback with the session's tiny model, called with tritonclient (the real
client of the Open Inference Protocol) and raw HTTP: results equal to the Inspector's, every
fault a status and one line, then a good request still answered."""

import http.client
import json
import socket
import threading
import time

import imageio.v3 as iio
import numpy as np
import pytest

pytest.importorskip("starlette")
httpclient = pytest.importorskip("tritonclient.http")
from tritonclient.utils import InferenceServerException  # noqa: E402

from tests.unit.test_serving_wire import png_bomb  # noqa: E402
from unet_defects.api import Inspector  # noqa: E402
from unet_defects.serving.app import ServedModel  # noqa: E402
from unet_defects.serving.runner import door_in_thread, serving_in_thread  # noqa: E402
from unet_defects.serving.settings import ServeSettings  # noqa: E402

pytestmark = pytest.mark.slow

MAX_PIXELS = 200_000
SETTINGS = ServeSettings(max_pixels=MAX_PIXELS, max_body_mb=1, max_delay_ms=2)


@pytest.fixture(scope="module")
def inspector(trained_tiny):
    return Inspector.open(model_dir=str(trained_tiny), max_pixels=MAX_PIXELS)


@pytest.fixture(scope="module")
def address(inspector):
    with serving_in_thread(inspector, SETTINGS) as address:
        yield address


@pytest.fixture()
def client(address):
    client = httpclient.InferenceServerClient(address)
    yield client
    client.close()


def images(count: int, shape=(32, 32), seed=0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (count, *shape, 1), dtype=np.uint8)


def infer(client, batch: np.ndarray, binary: bool = True, **kwargs):
    tensor = httpclient.InferInput("image", list(batch.shape), "UINT8")
    tensor.set_data_from_numpy(batch, binary_data=binary)
    outputs = None if binary else [httpclient.InferRequestedOutput(name, binary_data=False)
                                   for name in ("probabilities", "mask")]
    result = client.infer("unet", [tensor], outputs=outputs, **kwargs)
    return result.as_numpy("probabilities"), result.as_numpy("mask")


def assert_as_inspector(inspector, batch, probabilities, mask):
    assert probabilities.shape == mask.shape == batch.shape[:3]
    assert probabilities.dtype == np.float32 and mask.dtype == np.uint8
    for index, image in enumerate(batch):
        expected = inspector.inspect(image)
        np.testing.assert_allclose(probabilities[index], expected.probabilities, atol=1e-5)
        certain = np.abs(expected.probabilities - inspector.session.decision.threshold) > 1e-4
        assert np.array_equal(mask[index].astype(bool)[certain], expected.mask[certain])


def request(address: str, method: str, path: str, body: bytes = b"", headers: dict | None = None):
    """(status, parsed JSON or raw bytes) by the standard library, for what tritonclient cannot send."""
    host, port = address.split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=30)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        data = response.read()
        kind = response.getheader("content-type", "")
        return response.status, json.loads(data) if kind.startswith("application/json") else data
    finally:
        connection.close()


def assert_fault(address, status, message, method="POST", path="/v2/models/unet/infer", body=b"", headers=None):
    got, answer = request(address, method, path, body, headers)
    assert got == status, answer
    assert message in answer["error"] and "\n" not in answer["error"], answer


def json_infer_body(shape, data=None, **tensor) -> bytes:
    values = data if data is not None else [0] * int(np.prod(shape))
    return json.dumps({"inputs": [{"name": "image", "datatype": "UINT8", "shape": shape, "data": values,
                                   **tensor}]}).encode()


def test_health_and_metadata_through_tritonclient(client):
    assert client.is_server_live() and client.is_server_ready() and client.is_model_ready("unet")
    assert client.get_server_metadata()["extensions"] == ["binary_tensor_data"]
    metadata = client.get_model_metadata("unet")
    assert metadata["inputs"] == [{"name": "image", "datatype": "UINT8", "shape": [-1, -1, -1, 1]}]
    assert [(o["name"], o["datatype"]) for o in metadata["outputs"]] == [
        ("probabilities", "FP32"), ("mask", "UINT8"), ("score", "FP32"), ("defective", "BOOL")]
    assert client.is_model_ready("unet", model_version="1")


@pytest.mark.parametrize("binary", [True, False], ids=["binary", "json"])
def test_the_parts_score_and_verdict_are_the_inspectors(client, inspector, binary):
    batch = images(3, (40, 36), seed=4)
    tensor = httpclient.InferInput("image", list(batch.shape), "UINT8")
    tensor.set_data_from_numpy(batch)
    asked = [httpclient.InferRequestedOutput(name, binary_data=binary) for name in ("score", "defective")]
    result = client.infer("unet", [tensor], outputs=asked)
    expected = [inspector.inspect(image) for image in batch]
    np.testing.assert_allclose(result.as_numpy("score"), [found.score for found in expected], atol=1e-6)
    assert result.as_numpy("defective").tolist() == [found.defective for found in expected]
    assert result.get_output("probabilities") is None  # only what was asked


@pytest.mark.parametrize("binary", [True, False], ids=["binary", "json"])
def test_infer_gives_the_inspectors_probabilities_and_mask(client, inspector, binary):
    batch = images(3, (32, 40), seed=1)
    probabilities, mask = infer(client, batch, binary=binary)
    assert_as_inspector(inspector, batch, probabilities, mask)


def test_a_gzip_request_is_read(client, inspector):
    batch = images(1, seed=2)
    probabilities, _ = infer(client, batch, request_compression_algorithm="gzip")
    np.testing.assert_allclose(probabilities[0], inspector.inspect(batch[0]).probabilities, atol=1e-5)


def test_sixteen_concurrent_clients_each_get_their_own_result(address, inspector):
    shapes = [(32, 32), (40, 48)]
    batches = {client_id: images(1, shapes[client_id % 2], seed=100 + client_id) for client_id in range(16)}
    answers: dict[int, list] = {}
    errors = []

    def call(client_id):
        client = httpclient.InferenceServerClient(address)
        try:
            answers[client_id] = [infer(client, batches[client_id]) for _ in range(3)]
        except Exception as error:  # reported below with the client's number
            errors.append((client_id, error))
        finally:
            client.close()

    threads = [threading.Thread(target=call, args=(client_id,)) for client_id in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert not errors and len(answers) == 16
    for client_id, results in answers.items():
        for probabilities, mask in results:
            assert_as_inspector(inspector, batches[client_id], probabilities, mask)


@pytest.mark.parametrize("name, datatype, shape, message", [
    ("input_1", "UINT8", [1, 32, 32, 1], "input 'input_1': unknown"),
    ("image", "FP32", [1, 32, 32, 1], "datatype 'FP32'; expected UINT8"),
    ("image", "UINT8", [1, 32, 32], "rank 3; expected [N, H, W, 1]"),
])
def test_a_wrong_input_through_tritonclient_is_a_400_then_a_good_request_succeeds(
        client, inspector, name, datatype, shape, message):
    tensor = httpclient.InferInput(name, shape, datatype)
    tensor.set_data_from_numpy(np.zeros(shape, np.float32 if datatype == "FP32" else np.uint8))
    with pytest.raises(InferenceServerException) as raised:
        client.infer("unet", [tensor])
    assert raised.value.status() == "400" and message in raised.value.message()
    batch = images(1, seed=3)
    assert_as_inspector(inspector, batch, *infer(client, batch))


def test_an_unknown_model_is_404(client, inspector):
    with pytest.raises(InferenceServerException) as raised:
        client.get_model_metadata("other")
    assert raised.value.status() == "404" and "model 'other': unknown; this server serves 'unet'" in raised.value.message()
    tensor = httpclient.InferInput("image", [1, 8, 8, 1], "UINT8")
    tensor.set_data_from_numpy(np.zeros((1, 8, 8, 1), np.uint8))
    with pytest.raises(InferenceServerException) as raised:
        client.infer("other", [tensor])
    assert raised.value.status() == "404" and "model 'other': unknown" in raised.value.message()
    with pytest.raises(InferenceServerException) as raised:
        infer_other = httpclient.InferInput("image", [1, 2, 2, 1], "UINT8")
        infer_other.set_data_from_numpy(np.zeros((1, 2, 2, 1), np.uint8))
        client.infer("unet", [infer_other], model_version="2")
    assert raised.value.status() == "404"
    batch = images(1, seed=12)
    assert_as_inspector(inspector, batch, *infer(client, batch))


def test_raw_faults_are_each_a_status_and_one_line_then_a_good_request_succeeds(address, client, inspector):
    header = json.dumps({"inputs": [{"name": "image", "datatype": "UINT8", "shape": [1, 8, 8, 1],
                                     "parameters": {"binary_data_size": 64}}]}).encode()
    faults = [
        (400, "4 data values disagree with shape [1, 8, 8, 1] (64)", json_infer_body([1, 8, 8, 1], [1, 2, 3, 4]), {}),
        (400, "40 bytes of binary data follow the header; binary_data_size declares 64", header + bytes(40),
         {"Inference-Header-Content-Length": str(len(header))}),
        (413, "more than the server's --max_pixels 200,000", json_infer_body([1, 1000, 1000, 1], []), {}),
        (400, "the request header is not JSON", b"{nope", {}),
        (400, "a batch of 9 images, more than the server's --max_batch 8", json_infer_body([9, 2, 2, 1]), {}),
    ]
    for status, message, body, headers in faults:
        assert_fault(address, status, message, body=body, headers=headers)
        batch = images(1, seed=4)
        assert_as_inspector(inspector, batch, *infer(client, batch))


def test_a_body_past_max_body_mb_is_413_before_it_is_read(address, client, inspector):
    host, port = address.split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(b"POST /v2/models/unet/infer HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                     b"Content-Length: 500000000\r\n\r\n" + b"{" * 1000)
        started = time.monotonic()
        answer = sock.recv(65536).decode("latin-1")
    assert answer.startswith("HTTP/1.1 413"), answer
    assert "500,000,000 bytes, more than the server's --max_body_mb (1,048,576 bytes)" in answer
    assert time.monotonic() - started < 10  # answered without waiting for the 500 MB
    batch = images(1, seed=13)
    assert_as_inspector(inspector, batch, *infer(client, batch))


def test_a_chunked_body_is_cut_off_at_the_limit(address):
    host, port = address.split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=30)
    chunks = (bytes(256 * 1024) for _ in range(8))  # 2 MB in chunks, no Content-Length
    connection.request("POST", "/v1/inspect", body=chunks, encode_chunked=True)
    response = connection.getresponse()
    assert response.status == 413 and b"while streaming in" in response.read()
    connection.close()
    good = iio.imwrite("<bytes>", images(1, seed=14)[0, ..., 0], extension=".png")
    assert request(address, "POST", "/v1/inspect", good)[0] == 200


@pytest.mark.parametrize("body, status, message", [
    (b"hello, this is text", 400, "not a PNG, JPEG, BMP or TIFF image"),
    (png_bomb(60000, 60000), 413, "the PNG declares 60000 x 60000 = 3,600,000,000 pixels"),
    ("truncated", 400, "cannot decode the PNG"),
])
def test_bad_uploads_are_a_status_and_one_line_then_a_good_upload_succeeds(address, body, status, message):
    good = iio.imwrite("<bytes>", images(1, seed=5)[0, ..., 0], extension=".png")
    if body == "truncated":
        body = good[: len(good) // 2]
    assert_fault(address, status, message, path="/v1/inspect", body=body, headers={"Content-Type": "image/png"})
    assert request(address, "POST", "/v1/inspect", good)[0] == 200


def test_gray_alpha_and_one_bit_uploads_are_inspected_and_float_pixels_are_a_400(address, inspector):
    import io

    from PIL import Image

    gray = images(1, (24, 24), seed=15)[0, ..., 0]
    for picture, expected in [(Image.fromarray(gray).convert("LA"), gray),
                              (Image.fromarray(gray > 128), (gray > 128).astype(np.uint8) * 255)]:
        buffer = io.BytesIO()
        picture.save(buffer, format="PNG")
        status, answer = request(address, "POST", "/v1/inspect", buffer.getvalue())
        assert status == 200 and answer["defects"] == inspector.inspect(expected).summary()["defects"]
    buffer = io.BytesIO()
    Image.fromarray(gray.astype(np.float32)).save(buffer, format="TIFF")
    assert_fault(address, 400, "the TIFF holds float32 pixels", path="/v1/inspect", body=buffer.getvalue())


@pytest.mark.parametrize("extension", [".png", ".jpg", ".bmp", ".tif"])
def test_an_upload_gives_the_inspectors_verdict_and_its_mask_png(address, inspector, extension):
    image = images(1, (36, 44), seed=6)[0, ..., 0]
    data = iio.imwrite("<bytes>", image, extension=extension, plugin="pillow")
    decoded = iio.imread(data, plugin="pillow")
    status, answer = request(address, "POST", "/v1/inspect", data, {"Content-Type": "text/plain"})
    assert status == 200
    expected = inspector.inspect(decoded)
    assert {key: answer[key] for key in ("defective", "score", "defects")} == expected.summary()
    assert (answer["height"], answer["width"]) == (36, 44) and answer["step"] == inspector.session.step
    assert answer["decision"]["threshold"] == inspector.session.decision.threshold and answer["time_ms"] > 0
    status, png = request(address, "POST", "/v1/inspect?mask=png", data)
    assert status == 200 and np.array_equal(iio.imread(png), expected.mask.astype(np.uint8) * 255)
    assert_fault(address, 400, "mask='jpeg': the only choice is mask=png", path="/v1/inspect?mask=jpeg", body=data)


def test_metrics_count_requests_batches_and_the_queue(address, client):
    infer(client, images(2, seed=7))  # one batch of 2 images
    request(address, "POST", "/v2/models/unet/infer", b"{nope")
    status, text = request(address, "GET", "/metrics")
    text = text.decode()
    assert status == 200
    assert 'unet_requests_total{endpoint="infer",status="200"}' in text
    assert 'unet_requests_total{endpoint="infer",status="400"}' in text
    assert "unet_request_seconds_bucket{endpoint=\"infer\",le=\"0.005\"}" in text
    assert "unet_queue_depth 0.0" in text
    count = float(text.split("unet_batch_images_count ")[1].split()[0])
    up_to_one = float(text.split('unet_batch_images_bucket{le="1.0"} ')[1].split()[0])
    assert count >= 1 and up_to_one < count  # the batch of 2 is in the histogram


def test_the_page_is_one_self_contained_file(address):
    status, page = request(address, "GET", "/")
    page = page.decode()
    assert status == 200 and "<canvas" in page and "v1/inspect" in page
    assert "http://" not in page and "https://" not in page and "src=" not in page  # nothing fetched elsewhere
    assert_fault(address, 404, "GET /nowhere: no such endpoint here", method="GET", path="/nowhere")


def test_a_token_guards_every_endpoint_but_health_and_the_page(inspector):
    settings = ServeSettings(token="s3cret", max_pixels=MAX_PIXELS)
    with serving_in_thread(inspector, settings) as address:
        assert request(address, "GET", "/v2/health/ready")[0] == 200
        assert request(address, "GET", "/")[0] == 200
        good = {"Authorization": "Bearer s3cret"}
        client = httpclient.InferenceServerClient(address)
        for path, headers, message in [("/v2/models/unet", {}, "a missing token"),
                                       ("/metrics", {"Authorization": "Bearer s3cre"}, "a wrong token"),
                                       ("/v1/drift", {}, "a missing token"),
                                       ("/v2/models/unet", {"Authorization": "Basic s3cret"}, "a wrong token")]:
            assert_fault(address, 401, message, method="GET", path=path, headers=headers)
            assert request(address, "GET", path, headers=good)[0] == 200
        with pytest.raises(InferenceServerException) as raised:
            infer(client, images(1))
        assert raised.value.status() == "401"
        batch = images(1, seed=8)
        assert_as_inspector(inspector, batch, *infer(client, batch, headers=good))
        client.close()


class HeldInspector:
    """An Inspector stand-in whose model waits for `gate`, so the queue can be filled."""

    def __init__(self, real: Inspector) -> None:
        self.session = real.session
        self.drift = real.drift
        self.gate = threading.Event()
        self.entered = threading.Event()
        self.sizes: list[int] = []
        self._real = real

    def inspect_many(self, images):
        self.entered.set()
        self.sizes.append(len(images))
        self.gate.wait(30)
        return self._real.inspect_many(images)


def test_a_full_queue_is_503_and_the_queued_requests_are_answered(inspector):
    held = HeldInspector(inspector)
    settings = ServeSettings(max_queue=2, max_batch=1, max_pixels=MAX_PIXELS)
    body = json_infer_body([1, 8, 8, 1])
    with serving_in_thread(held, settings) as address:
        statuses = []
        threads = [threading.Thread(target=lambda: statuses.append(request(address, "POST", "/v2/models/unet/infer",
                                                                           body)[0])) for _ in range(3)]
        for thread in threads:  # one running (held), two queued
            thread.start()
            time.sleep(0.3)
        assert_fault(address, 503, "the inference queue is full (2 requests waiting)", body=body)
        held.gate.set()
        for thread in threads:
            thread.join(30)
        assert statuses == [200, 200, 200]
        assert request(address, "POST", "/v2/models/unet/infer", body)[0] == 200


def test_queued_requests_of_one_size_share_a_batch_and_each_gets_its_own_result(inspector):
    held = HeldInspector(inspector)
    door = ServedModel(held, ServeSettings(max_batch=8, max_delay_ms=50, max_pixels=MAX_PIXELS), "tensorflow")
    batches = {seed: images(1, seed=200 + seed) for seed in range(6)}
    answers = {}
    with door_in_thread(door) as address:
        def call(seed):
            client = httpclient.InferenceServerClient(address)
            answers[seed] = infer(client, batches[seed])
            client.close()

        threads = [threading.Thread(target=call, args=(seed,)) for seed in range(6)]
        threads[0].start()
        time.sleep(0.3)  # the first runs alone and is held; the other five queue behind it
        for thread in threads[1:]:
            thread.start()
        while door.worker.depth < 5:
            time.sleep(0.01)
        held.gate.set()
        for thread in threads:
            thread.join(30)
        text = request(address, "GET", "/metrics")[1].decode()
    assert held.sizes == [1, 5]
    assert "unet_batch_images_count 2.0" in text and 'unet_batch_images_bucket{le="4.0"} 1.0' in text
    for seed, (probabilities, mask) in answers.items():
        assert_as_inspector(inspector, batches[seed], probabilities, mask)


def test_once_stopping_readiness_and_new_work_are_503_while_the_running_request_is_answered(inspector):
    held = HeldInspector(inspector)
    door = ServedModel(held, ServeSettings(max_pixels=MAX_PIXELS), "tensorflow")
    statuses = []
    with door_in_thread(door) as address:
        running = threading.Thread(target=lambda: statuses.append(
            request(address, "POST", "/v2/models/unet/infer", json_infer_body([1, 8, 8, 1]))[0]))
        running.start()
        while not held.entered.is_set():
            time.sleep(0.01)
        door.stop_accepting()  # what SIGTERM does first
        assert_fault(address, 503, "shutting down", method="GET", path="/v2/health/ready")
        assert_fault(address, 503, "the server is shutting down and takes no new requests",
                     body=json_infer_body([1, 8, 8, 1]))
        held.gate.set()
        running.join(30)
    assert statuses == [200]


def test_a_slow_body_is_408_and_a_slow_result_504_then_the_server_goes_on(inspector):
    held = HeldInspector(inspector)
    settings = ServeSettings(request_timeout_s=0.5, max_pixels=MAX_PIXELS)
    with serving_in_thread(held, settings) as address:
        host, port = address.split(":")
        with socket.create_connection((host, int(port)), timeout=10) as sock:
            sock.sendall(b"POST /v1/inspect HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n" + bytes(10))
            answer = sock.recv(65536).decode("latin-1")
        assert answer.startswith("HTTP/1.1 408") and "did not arrive within the server's --request_timeout_s" in answer
        assert_fault(address, 504, "no result within the server's --request_timeout_s 0.5",
                     body=json_infer_body([1, 8, 8, 1]))
        held.gate.set()
        assert request(address, "POST", "/v2/models/unet/infer", json_infer_body([1, 8, 8, 1]))[0] == 200
