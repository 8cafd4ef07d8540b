"""The server's parsing on literal bytes: Open Inference Protocol requests and responses,
uploaded image headers, bodies, tokens and exposure."""

import gzip
import json
import struct
import zlib

import imageio.v3 as iio
import numpy as np
import pytest

pytest.importorskip("starlette")

from unet_defects.adapters.image_headers import declared_size, image_kind
from unet_defects.domain.errors import ConfigError
from unet_defects.serving import v2
from unet_defects.serving.errors import BadRequest, TooLarge
from unet_defects.serving.http import _inflated
from unet_defects.serving.settings import ServeSettings, check_exposure, is_loopback, read_token
from unet_defects.serving.uploads import decode_upload

MAX = 10_000


def binary_request(images: np.ndarray, header_extra: dict | None = None, declared: int | None = None):
    blob = images.tobytes()
    header = {"inputs": [{"name": "image", "datatype": "UINT8", "shape": list(images.shape),
                          "parameters": {"binary_data_size": len(blob) if declared is None else declared}}],
              "parameters": {"binary_data_output": True}, **(header_extra or {})}
    text = json.dumps(header).encode()
    return text + blob, str(len(text))


def test_a_binary_request_gives_its_images_and_every_output_in_binary():
    images = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4, 1)
    body, length = binary_request(images, {"id": "r1"})
    request = v2.parse_request(body, length, MAX)
    assert request.images.shape == (2, 3, 4) and np.array_equal(request.images, images[..., 0])
    assert request.outputs == (("probabilities", True), ("mask", True)) and request.request_id == "r1"


def test_a_json_request_with_nested_data_and_one_named_output():
    data = [[[[1], [2]], [[3], [4]]]]
    body = json.dumps({"inputs": [{"name": "image", "datatype": "UINT8", "shape": [1, 2, 2, 1], "data": data}],
                       "outputs": [{"name": "mask"}]}).encode()
    request = v2.parse_request(body, None, MAX)
    assert request.images.tolist() == [[[1, 2], [3, 4]]] and request.outputs == (("mask", False),)


@pytest.mark.parametrize("change, message", [
    ({"name": "input_1"}, "input 'input_1': unknown; the model takes one input, 'image'"),
    ({"datatype": "FP32"}, "datatype 'FP32'; expected UINT8"),
    ({"shape": [1, 2, 2]}, "rank 3; expected [N, H, W, 1]"),
    ({"shape": [1, 2, 2, 3]}, "rank 4; expected [N, H, W, 1]"),
    ({"shape": [1, 0, 2, 1]}, "holds no pixels"),
    ({"shape": [1, 2, 3, 1]}, "4 data values disagree with shape [1, 2, 3, 1] (6)"),
    ({"shape": "1x2"}, "is not a list of integers"),
    ({"data": [1, 2, 3, 300]}, "outside UINT8 0..255"),
    ({"data": ["a", "b", "c", "d"]}, "not a list of integers"),
    ({"data": ["1", "2", "3", "4"]}, "not a list of integers"),
    ({"data": [1.5, 2, 3, 4]}, "not a list of integers"),
    ({"data": [True, False, True, False]}, "not a list of integers"),
    ({"data": None}, "neither data nor parameters.binary_data_size"),
])
def test_a_bad_input_tensor_is_one_line_naming_what_is_wrong(change, message):
    tensor = {"name": "image", "datatype": "UINT8", "shape": [1, 2, 2, 1], "data": [1, 2, 3, 4], **change}
    with pytest.raises(BadRequest) as raised:
        v2.parse_request(json.dumps({"inputs": [tensor]}).encode(), None, MAX)
    assert message in raised.value.message and "\n" not in raised.value.message


def test_binary_data_shorter_than_declared_or_disagreeing_with_the_shape_is_refused():
    images = np.zeros((1, 4, 4, 1), np.uint8)
    body, length = binary_request(images)
    with pytest.raises(BadRequest, match="10 bytes of binary data follow the header; binary_data_size declares 16"):
        v2.parse_request(body[:-6], length, MAX)
    body, length = binary_request(images, declared=12)
    with pytest.raises(BadRequest, match="binary_data_size 12 disagrees with shape"):
        v2.parse_request(body, length, MAX)


def test_a_declared_shape_past_max_pixels_is_413_before_any_data_is_read():
    body = json.dumps({"inputs": [{"name": "image", "datatype": "UINT8", "shape": [4, 60000, 60000, 1],
                                   "parameters": {"binary_data_size": 4 * 60000 * 60000}}]}).encode()
    with pytest.raises(TooLarge, match="14,400,000,000 pixels, more than the server's --max_pixels 10,000"):
        v2.parse_request(body, str(len(body)), MAX)


def test_a_batch_past_max_batch_and_big_json_outputs_are_refused_before_reading_data():
    body = json.dumps({"inputs": [{"name": "image", "datatype": "UINT8", "shape": [3, 2, 2, 1], "data": []}]}).encode()
    with pytest.raises(BadRequest, match="a batch of 3 images, more than the server's --max_batch 2"):
        v2.parse_request(body, None, MAX, max_batch=2)
    shape = [1, 2001, 2000, 1]
    body = json.dumps({"inputs": [{"name": "image", "datatype": "UINT8", "shape": shape, "data": []}]}).encode()
    with pytest.raises(BadRequest, match="outputs of 4,002,000 values each are sent in binary only"):
        v2.parse_request(body, None, 10**8)


@pytest.mark.parametrize("length, message", [("x", "is not a number"), ("0", "outside the"), ("99999", "outside")])
def test_a_bad_header_length_is_refused(length, message):
    body, _ = binary_request(np.zeros((1, 2, 2, 1), np.uint8))
    with pytest.raises(BadRequest, match=message):
        v2.parse_request(body, length, MAX)


def test_a_header_that_is_not_json_or_names_two_inputs_or_an_unknown_output():
    with pytest.raises(BadRequest, match="not JSON"):
        v2.parse_request(b"{nope", None, MAX)
    with pytest.raises(BadRequest, match="has 2 inputs"):
        v2.parse_request(json.dumps({"inputs": [{}, {}]}).encode(), None, MAX)
    body = json.dumps({"inputs": [{"name": "image", "datatype": "UINT8", "shape": [1, 1, 1, 1], "data": [0]}],
                       "outputs": [{"name": "logits"}]}).encode()
    with pytest.raises(BadRequest, match="output 'logits': unknown"):
        v2.parse_request(body, None, MAX)


def test_a_response_in_binary_reads_back_as_tritonclient_reads_it():
    request = v2.InferRequest(images=np.zeros((1, 2, 3), np.uint8), outputs=(("probabilities", True), ("mask", True)),
                              request_id="7")
    probabilities = np.linspace(0, 1, 6, dtype=np.float32).reshape(1, 2, 3)
    mask = (probabilities > 0.5).astype(np.uint8)
    body, headers = v2.encode_response("unet", request, probabilities, mask)
    length = int(headers["inference-header-content-length"])
    header = json.loads(body[:length])
    assert header["id"] == "7" and [o["name"] for o in header["outputs"]] == ["probabilities", "mask"]
    assert header["outputs"][0]["parameters"]["binary_data_size"] == 24
    assert np.array_equal(np.frombuffer(body[length:length + 24], np.float32).reshape(1, 2, 3), probabilities)
    assert np.array_equal(np.frombuffer(body[length + 24:], np.uint8).reshape(1, 2, 3), mask)


def test_a_response_in_json_carries_flat_data():
    request = v2.InferRequest(images=np.zeros((1, 1, 2), np.uint8), outputs=(("mask", False),))
    body, headers = v2.encode_response("unet", request, np.zeros((1, 1, 2), np.float32), np.array([[[0, 1]]]))
    assert "inference-header-content-length" not in headers
    assert json.loads(body)["outputs"] == [{"name": "mask", "datatype": "UINT8", "shape": [1, 1, 2], "data": [0, 1]}]


GRAY = (np.arange(30 * 40) % 251).astype(np.uint8).reshape(30, 40)


@pytest.mark.parametrize("extension, kind", [(".png", "PNG"), (".jpg", "JPEG"), (".bmp", "BMP"), (".tif", "TIFF")])
def test_each_image_kind_is_known_by_its_first_bytes_and_sized_from_its_header(extension, kind):
    data = iio.imwrite("<bytes>", GRAY, extension=extension, plugin="pillow")
    assert image_kind(data)[0] == kind and declared_size(data, kind) == (30, 40)
    decoded = decode_upload(data, MAX * 10)
    assert decoded.shape[:2] == (30, 40)
    if kind != "JPEG":
        assert np.array_equal(decoded, GRAY)


def test_a_big_endian_tiff_and_a_progressive_jpeg_are_sized_too():
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(GRAY).save(buffer, format="JPEG", progressive=True)
    assert declared_size(buffer.getvalue(), "JPEG") == (30, 40)
    tiff = b"MM\x00*" + struct.pack(">I", 8) + struct.pack(">H", 2) + \
        struct.pack(">HHIHH", 256, 3, 1, 40, 0) + struct.pack(">HHII", 257, 4, 1, 30)
    assert declared_size(tiff, "TIFF") == (30, 40)


def png_bomb(height: int, width: int) -> bytes:
    """A PNG header that claims height x width pixels, and a few bytes of a zlib stream."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    chunk = struct.pack(">I", len(ihdr)) + b"IHDR" + ihdr + struct.pack(">I", zlib.crc32(b"IHDR" + ihdr))
    data = zlib.compress(b"\x00" * 100_000)
    idat = struct.pack(">I", len(data)) + b"IDAT" + data + struct.pack(">I", zlib.crc32(b"IDAT" + data))
    return b"\x89PNG\r\n\x1a\n" + chunk + idat


def test_a_png_bomb_is_413_from_its_header_before_decoding():
    with pytest.raises(TooLarge, match="the PNG declares 60000 x 60000 = 3,600,000,000 pixels"):
        decode_upload(png_bomb(60000, 60000), 64_000_000)


def test_a_text_file_a_truncated_png_and_an_empty_body_are_one_line_400s():
    with pytest.raises(BadRequest, match="not a PNG, JPEG, BMP or TIFF image .it starts with 68 65 6c 6c 6f"):
        decode_upload(b"hello, world", MAX)
    with pytest.raises(BadRequest, match="empty body"):
        decode_upload(b"", MAX)
    png = iio.imwrite("<bytes>", GRAY, extension=".png")
    with pytest.raises(BadRequest, match="header is truncated"):
        decode_upload(png[:20], MAX)
    with pytest.raises(BadRequest, match="cannot decode the PNG"):
        decode_upload(png[: len(png) // 2], MAX)


def test_bodies_inflate_within_the_limit_only():
    assert _inflated(gzip.compress(b"abc"), "gzip", 10) == b"abc"
    assert _inflated(zlib.compress(b"abc"), "deflate", 10) == b"abc"
    with pytest.raises(TooLarge, match="inflates past"):
        _inflated(gzip.compress(b"\x00" * 1000), "gzip", 100)
    with pytest.raises(BadRequest, match="Content-Encoding 'br'"):
        _inflated(b"x", "br", 10)


def test_exposure_needs_a_token_or_insecure_and_the_token_file_is_stripped(tmp_path):
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("camera-pc")
    check_exposure("127.0.0.1", None, False)
    check_exposure("0.0.0.0", "secret", False)
    check_exposure("0.0.0.0", None, True)
    with pytest.raises(ConfigError, match="--host 0.0.0.0: other machines could reach"):
        check_exposure("0.0.0.0", None, False)
    (tmp_path / "token").write_text("  s3cret\n")
    assert read_token(str(tmp_path / "token")) == "s3cret"
    (tmp_path / "empty").write_text(" \n")
    with pytest.raises(ConfigError, match="the file is empty"):
        read_token(str(tmp_path / "empty"))
    with pytest.raises(ConfigError, match="cannot read it"):
        read_token(str(tmp_path / "absent"))


@pytest.mark.parametrize("key, value", [("max_batch", 0), ("max_queue", 0), ("max_body_mb", 0),
                                        ("max_delay_ms", -1), ("name", "a/b"), ("name", ".."), ("name", 'x"y'),
                                        ("name", "")])
def test_settings_out_of_range_are_one_line(key, value):
    with pytest.raises(ConfigError, match=f"--{key}"):
        ServeSettings(**{key: value})


def test_uploads_with_alpha_or_one_bit_are_read_as_the_readers_read_them_and_float_pixels_refused():
    import io

    from PIL import Image

    def saved(image: Image.Image, kind: str) -> bytes:
        buffer = io.BytesIO()
        image.save(buffer, format=kind)
        return buffer.getvalue()

    gray_alpha = Image.fromarray(GRAY).convert("LA")
    assert np.array_equal(decode_upload(saved(gray_alpha, "PNG"), MAX), GRAY)
    bits = GRAY > 128
    decoded = decode_upload(saved(Image.fromarray(bits), "PNG"), MAX)
    assert decoded.dtype == np.uint8 and np.array_equal(decoded, bits.astype(np.uint8) * 255)
    floats = Image.fromarray(GRAY.astype(np.float32))
    with pytest.raises(BadRequest, match="the TIFF holds float32 pixels; send 8 or 16-bit integer pixels"):
        decode_upload(saved(floats, "TIFF"), MAX)
