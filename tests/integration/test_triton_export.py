"""`unet export --format triton`: a model repository whose config Triton's own ModelConfig
message parses and whose model.onnx, run by ONNX Runtime, answers as `unet serve` does
(min_area aside, which the repository leaves to the client)."""

import json

import numpy as np
import pytest

from tests.conftest import unet_in_process
from unet_defects.api import Inspector

pytestmark = pytest.mark.slow
ort = pytest.importorskip("onnxruntime")


@pytest.fixture(scope="module")
def repository(trained_tiny, tmp_path_factory):
    pytest.importorskip("tf2onnx")
    root = tmp_path_factory.mktemp("triton")
    result = unet_in_process("export", "--model_dir", str(trained_tiny), "--output", str(root), "--format", "triton",
                             "--name", "tiles", "--max_batch", "4", "--min_area", "3")
    assert result.returncode == 0, result.stderr
    assert "a Triton model repository" in result.stdout
    return root / "tiles"


def test_the_repository_holds_config_model_readme_and_manifest(repository):
    assert sorted(path.relative_to(repository).as_posix() for path in repository.rglob("*") if path.is_file()) == [
        "1/model.onnx", "README.md", "config.pbtxt", "unet_export.json"]
    manifest = json.loads((repository / "unet_export.json").read_text())
    assert manifest["format"] == "triton" and manifest["model_file"] == "1/model.onnx" and manifest["min_area"] == 3
    assert manifest["input_dtype"] == "uint8" and manifest["min_area_by"] == "client"
    readme = (repository / "README.md").read_text()
    assert "fewer than 3 pixels" in readme and "on the client" in readme


def test_config_pbtxt_holds_the_model_batching_and_instances(repository):
    """Structural, without Triton's message (the next test parses it where tritonclient[grpc] is)."""
    text = (repository / "config.pbtxt").read_text()
    for line in ['name: "tiles"', 'backend: "onnxruntime"', "max_batch_size: 4", 'name: "image"', "data_type: TYPE_UINT8",
                 'name: "probabilities"', "data_type: TYPE_FP32", 'name: "mask"', "dynamic_batching {",
                 "max_queue_delay_microseconds: 5000", "kind: KIND_CPU"]:
        assert line in text
    assert text.count("{") == text.count("}") and text.count("[") == text.count("]")


def test_config_pbtxt_parses_as_tritons_model_config(repository):
    model_config = pytest.importorskip("tritonclient.grpc.model_config_pb2",
                                       reason="tritonclient[grpc] carries Triton's ModelConfig message")
    from google.protobuf import text_format

    config = text_format.Parse((repository / "config.pbtxt").read_text(), model_config.ModelConfig())
    assert config.name == "tiles" and config.backend == "onnxruntime" and config.max_batch_size == 4
    types = model_config.DataType
    assert [(t.name, t.data_type, list(t.dims)) for t in config.input] == [("image", types.TYPE_UINT8, [-1, -1, 1])]
    assert [(t.name, t.data_type, list(t.dims)) for t in config.output] == [
        ("probabilities", types.TYPE_FP32, [-1, -1]), ("mask", types.TYPE_UINT8, [-1, -1])]
    assert list(config.dynamic_batching.preferred_batch_size) == [4]
    assert config.dynamic_batching.max_queue_delay_microseconds == 5000
    assert config.instance_group[0].kind == model_config.ModelInstanceGroup.Kind.KIND_CPU


def test_the_model_takes_uint8_and_answers_as_the_inspector_without_min_area(repository, trained_tiny):
    session = ort.InferenceSession(str(repository / "1" / "model.onnx"), providers=["CPUExecutionProvider"])
    assert [(i.name, i.type) for i in session.get_inputs()] == [("image", "tensor(uint8)")]
    batch = np.random.default_rng(9).integers(0, 256, (2, 37, 45, 1), dtype=np.uint8)
    outputs = dict(zip([o.name for o in session.get_outputs()], session.run(None, {"image": batch})))
    assert outputs["probabilities"].shape == outputs["mask"].shape == (2, 37, 45)
    inspector = Inspector.open(model_dir=str(trained_tiny), min_area=0)
    for index, image in enumerate(batch):
        expected = inspector.inspect(image)
        np.testing.assert_allclose(outputs["probabilities"][index], expected.probabilities, atol=1e-5)
        certain = np.abs(expected.probabilities - inspector.session.decision.threshold) > 1e-4
        assert np.array_equal(outputs["mask"][index].astype(bool)[certain], expected.mask[certain])
        assert set(np.unique(outputs["mask"][index])) <= {0, 1}


def test_an_engine_here_refuses_the_repository_in_one_line(repository, tmp_path):
    import imageio.v3 as iio

    iio.imwrite(tmp_path / "part.png", np.zeros((8, 8), np.uint8))
    result = unet_in_process("predict", "--model", str(repository), "--engine", "onnxruntime",
                             "--input", str(tmp_path), "--output", str(tmp_path / "out"))
    assert result.returncode == 2
    assert "a triton model repository's model, for that server" in result.stderr and "--format onnx" in result.stderr


def test_int8_and_a_bad_name_are_refused(trained_tiny, tmp_path):
    result = unet_in_process("export", "--model_dir", str(trained_tiny), "--output", str(tmp_path), "--format",
                             "triton", "--int8")
    assert result.returncode == 2 and "--int8: needs --format" in result.stderr
    for name in ("a/b", "..", 'x"y'):
        result = unet_in_process("export", "--model_dir", str(trained_tiny), "--output", str(tmp_path), "--format",
                                 "triton", "--name", name)
        assert result.returncode == 2 and f"--name {name!r}: use 1 to 64 letters" in result.stderr
    assert list(tmp_path.iterdir()) == []
