"""Every export format run by its engine against TensorFlow's answer, on a tiny trained model;
INT8 exports; test-time augmentation built into an export; bad export folders."""

import json
import shutil

import numpy as np
import pytest

from tests.conftest import tiny_params, unet_in_process
from unet_defects.adapters.runtimes.catalog import RUNTIMES
from unet_defects.adapters.runtimes.registry import EngineRegistry
from unet_defects.application.inference import AveragedEngine
from unet_defects.application.options import InferenceOptions
from unet_defects.container import build_container

pytestmark = pytest.mark.slow
# Each export format and the runtime that writes it: savedmodel/tensorflow, onnx/onnxruntime, openvino, tflite.
FLOAT_ENGINES = {runtime.format: runtime.name for runtime in RUNTIMES}


@pytest.fixture(scope="module")
def trained(trained_tiny):
    model_dir = trained_tiny  # the session's tiny model: these tests only read it
    container = build_container(str(model_dir / "params.yaml"), {"model_dir": str(model_dir)})
    model = container.builder().build(container.experiment().model)
    container.checkpoints().restore(model)
    images = np.concatenate([batch.numpy() for batch, _ in container.dataset().evaluation_stream()])
    return container, model_dir, model, images


@pytest.fixture(scope="module")
def exports(tiny_exports):
    return tiny_exports


def reference(trained):
    _, _, model, images = trained
    return EngineRegistry().from_model(model).outputs(images)[0]


@pytest.mark.parametrize("fmt", list(FLOAT_ENGINES))
def test_each_float32_engine_gives_tensorflows_probabilities(trained, exports, fmt):
    engine, manifest = EngineRegistry().from_export(FLOAT_ENGINES[fmt], str(exports[fmt]))
    assert (manifest.format, manifest.precision, manifest.fixed_size) == (fmt, "float32", fmt == "tflite")
    expected = reference(trained)
    found = engine.outputs(trained[3])[0]
    assert found.shape == expected.shape
    np.testing.assert_allclose(found, expected, atol=1e-4)
    assert np.mean((found > 0.5) == (expected > 0.5)) >= 0.999


def test_openvino_also_runs_the_onnx_export(trained, exports):
    engine, _ = EngineRegistry().from_export("openvino", str(exports["onnx"]))
    np.testing.assert_allclose(engine.outputs(trained[3])[0], reference(trained), atol=1e-4)


@pytest.mark.parametrize("name, engine", [("openvino-int8", "openvino"), ("tflite-int8", "tflite"),
                                          ("onnx-int8", "onnxruntime")])
def test_int8_exports_run_and_agree_with_float32_on_most_pixels(trained, exports, name, engine):
    loaded, manifest = EngineRegistry().from_export(engine, str(exports[name]))
    assert manifest.precision == "int8"
    expected, found = reference(trained), loaded.outputs(trained[3])[0]
    assert np.abs(found - expected).mean() < 0.05
    assert np.mean((found > 0.5) == (expected > 0.5)) >= 0.9


def test_tflite_pads_inputs_smaller_than_its_fixed_size_and_refuses_larger(trained, exports):
    engine, _ = EngineRegistry().from_export("tflite", str(exports["tflite"]))
    small = trained[3][:2, :16, :24]
    expected = EngineRegistry().from_model(trained[2]).outputs(np.pad(small, ((0, 0), (0, 16), (0, 8), (0, 0)),
                                                                            mode="symmetric"))[0]
    np.testing.assert_allclose(engine.outputs(small)[0], expected[:, :16, :24], atol=1e-4)
    with pytest.raises(Exception, match="exceed its fixed size"):
        engine.outputs(np.zeros((1, 64, 32, 1), np.float32))[0]


def test_tta_built_into_an_export_equals_tta_around_the_engine(trained, tmp_path):
    container, _, model, images = trained
    container.export().execute(str(tmp_path / "d4"), InferenceOptions(tta="d4"))
    baked, manifest = EngineRegistry().from_export("tensorflow", str(tmp_path / "d4"))
    assert manifest.tta == "d4"
    plain = EngineRegistry().from_model(model)
    around = AveragedEngine(plain, "d4").outputs(images)[0]
    np.testing.assert_allclose(baked.outputs(images)[0], around, atol=1e-5)
    assert np.abs(around - plain.outputs(images)[0]).max() > 1e-4  # the network is not d4-invariant


@pytest.mark.parametrize("fmt", ["savedmodel", "onnx", "openvino-int8", "tflite"])
def test_predict_with_each_engine_writes_the_readable_files_and_names_the_broken_one(trained, exports, tmp_path,
                                                                                    tiny_dagm, fmt):
    folder = tmp_path / "in"
    folder.mkdir()
    for source in sorted((tiny_dagm / "Class1" / "Test").glob("*.PNG"))[:2]:
        shutil.copy(source, folder / source.name)
    (folder / "broken.png").write_bytes(b"not a picture")
    engine = FLOAT_ENGINES[fmt.split("-")[0]]
    result = unet_in_process("predict", "--engine", engine, "--model", str(exports[fmt]), "--input", str(folder),
                             "--output", str(tmp_path / "out"))
    assert result.returncode == 1, result.stderr
    assert "broken.png" in result.stderr and len(list((tmp_path / "out").glob("*_mask.png"))) == 2


def _copy(export, tmp_path):
    target = tmp_path / export.name
    shutil.copytree(export, target)
    return target


def _predict(export, engine, tmp_path, tiny_dagm):
    return unet_in_process("predict", "--engine", engine, "--model", str(export),
                           "--input", str(tiny_dagm / "Class1" / "Test"), "--output", str(tmp_path / "out"))


def test_bad_export_folders_are_one_line_naming_the_file(exports, tmp_path, tiny_dagm):
    missing = _copy(exports["onnx"], tmp_path / "a")
    (missing / "model.onnx").unlink()
    garbage = _copy(exports["tflite"], tmp_path / "b")
    (garbage / "model.tflite").write_bytes((exports["onnx"] / "model.onnx").read_bytes())
    unknown = _copy(exports["openvino"], tmp_path / "c")
    manifest = json.loads((unknown / "unet_export.json").read_text())
    (unknown / "unet_export.json").write_text(json.dumps({**manifest, "colour": "red"}))
    old = _copy(exports["openvino"], tmp_path / "d")
    (old / "unet_export.json").write_text(json.dumps({**manifest, "manifest_version": 1}))
    broken_onnx = _copy(exports["onnx"], tmp_path / "e")
    (broken_onnx / "model.onnx").write_bytes(b"\x00garbage")
    cases = [(missing, "onnxruntime", "model.onnx: missing"), (garbage, "tflite", "model.tflite: not a tflite model"),
             (unknown, "openvino", "unknown keys colour"), (old, "openvino", "another version"),
             (broken_onnx, "onnxruntime", "model.onnx: not an ONNX model"),
             (exports["onnx"], "tflite", "holds a onnx export; run it with --engine onnxruntime or openvino")]
    for folder, engine, message in cases:
        result = _predict(folder, engine, tmp_path, tiny_dagm)
        assert result.returncode == 2 and message in result.stderr, (folder, result.stderr)
        assert len([line for line in result.stderr.splitlines() if line.startswith("unet: error:")]) == 1


def test_a_calibration_file_that_does_not_parse_is_one_line(trained, tmp_path, tiny_dagm):
    _, model_dir, _, _ = trained
    calibration = model_dir / "calibration.json"
    before = calibration.read_bytes() if calibration.exists() else None  # the session's model: leave it as found
    calibration.write_text("{not json")
    try:
        result = unet_in_process("predict", "--model_dir", str(model_dir), "--input", str(tiny_dagm / "Class1" / "Test"),
                                 "--output", str(tmp_path / "out"))
    finally:
        if before is None:
            calibration.unlink()
        else:
            calibration.write_bytes(before)
    assert result.returncode == 2 and f"{calibration}: not a calibration file" in result.stderr


def test_the_planned_networks_input_layers_run_in_every_export(tiny_dagm, tmp_path):
    """Per-image standardization and the downscaled network are inside the model, so every
    runtime runs them; a model trained in mixed precision exports in float32 (TFLite has no
    bfloat16 kernels)."""
    params = tiny_params(tiny_dagm, tmp_path / "model", max_steps=2)
    params["model"].update(input_standardization="per_image", input_downscale=2, mixed_precision=True)
    params["runconfig"].pop("tf_random_seed")
    container = build_container(params)
    container.train().execute()
    model = container.export_builder().build(container.experiment().model)
    container.checkpoints().restore(model)
    images = np.concatenate([batch.numpy() for batch, _ in container.dataset().evaluation_stream()])
    expected = EngineRegistry().from_model(model).outputs(images)[0]
    for fmt, engine_name in FLOAT_ENGINES.items():
        container.export().execute(str(tmp_path / fmt), format=fmt)
        engine, manifest = EngineRegistry().from_export(engine_name, str(tmp_path / fmt))
        assert manifest.precision == "float32"
        np.testing.assert_allclose(engine.outputs(images)[0], expected, atol=1e-4, err_msg=fmt)
