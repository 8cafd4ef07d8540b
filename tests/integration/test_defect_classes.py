"""Several defect classes through the real readers and the real training and evaluation:
Severstal's rows of four classes as four mask channels, label-image folders, their one-line
errors, and the reference preset's network unchanged."""

import json

import imageio.v3 as iio
import numpy as np
import pytest

from tests.conftest import unet_in_process
from unet_defects.adapters.datasets.image_folder import open_image_folder
from unet_defects.adapters.datasets.severstal import open_severstal
from unet_defects.adapters.datasets.severstal_csv import read_train_csv
from unet_defects.adapters.datasets.synthetic_severstal import SyntheticSeverstalSpec, generate
from unet_defects.domain import rle
from unet_defects.domain.data import DataSpec
from unet_defects.domain.errors import DataError, DataProblems


def severstal(root, **keys):
    return DataSpec(dataset="SeverstalDataset", dataset_path=str(root), image_shape=[256, 1600, 1], train_batch_size=2,
                    eval_batch_size=2, train_test_split=0.75, seed=1, include_defect_free=True, image_fit="crop",
                    **keys)


@pytest.fixture(scope="module")
def synthetic_severstal(tmp_path_factory):
    root = tmp_path_factory.mktemp("severstal_classes")
    generate(SyntheticSeverstalSpec(images=12, seed=4), root)
    return root


def test_four_severstal_classes_read_as_four_channels_equal_to_their_rows(synthetic_severstal):
    spec = severstal(synthetic_severstal, defect_classes=[1, 2, 3, 4])
    reader = open_severstal(spec, spec)
    rows, _ = read_train_csv(synthetic_severstal / "train.csv")
    by_image = {}
    for row in rows:
        by_image.setdefault(row.image_id, {})[row.class_id] = rle.decode(row.encoded)
    samples = reader.samples("eval")
    masks = np.concatenate([m.numpy() for _, m in reader.evaluation_stream()])
    assert masks.shape == (len(samples), 256, 1600, 4)
    for sample, mask in zip(samples, masks):
        truth = by_image.get(sample.image.name, {})
        for channel, class_id in enumerate((1, 2, 3, 4)):
            expected = truth.get(class_id, np.zeros((256, 1600), bool))
            np.testing.assert_array_equal(mask[..., channel] > 0.5, expected, err_msg=f"{sample.image} {class_id}")
    assert any(len(t) > 1 for t in by_image.values()), "the generator gave no image two classes"


def test_severstal_classes_the_csv_never_uses_are_one_line(synthetic_severstal, tmp_path):
    rows = (synthetic_severstal / "train.csv").read_text().splitlines()
    kept = [rows[0]] + [row for row in rows[1:] if row.split(",")[1] != "2"]
    root = tmp_path / "no_class_2"
    (root / "train_images").mkdir(parents=True)
    for image in (synthetic_severstal / "train_images").iterdir():
        (root / "train_images" / image.name).symlink_to(image)
    (root / "train.csv").write_text("\n".join(kept) + "\n")
    spec = severstal(root, defect_classes=[1, 2])
    with pytest.raises(DataError) as caught:
        open_severstal(spec, spec).samples("train")
    assert str(caught.value) == f"{root / 'train.csv'}: no row of class 2 (train_input.defect_classes [1, 2])"


# VOC's first colours: what a palette PNG shows for indices 0 (good), 1 and 2 (its classes).
VOC_PALETTE = [0, 0, 0, 128, 0, 0, 0, 128, 0] + [0] * (256 * 3 - 9)


def write_palette_png(path, indices):
    from PIL import Image

    picture = Image.fromarray(indices, mode="P")
    picture.putpalette(VOC_PALETTE)
    picture.save(path)


def label_folders(root, values=(1, 2), palette=False):
    """images/ and masks/ of 32x32 parts: a bright square per class, its label value in the mask
    (`palette`: an indexed-colour PNG's index, as VOC and labelling tools write masks)."""
    (root / "images").mkdir(parents=True)
    (root / "masks").mkdir()
    rng = np.random.default_rng(0)
    for index in range(12):
        image = rng.integers(90, 110, (32, 32), dtype=np.uint8)
        mask = np.zeros((32, 32), np.uint8)
        if index % 3:
            value = values[index % len(values)]
            top, left = rng.integers(2, 20, 2)
            image[top:top + 8, left:left + 8] = 40 + 45 * value
            mask[top:top + 8, left:left + 8] = value
        iio.imwrite(root / "images" / f"part{index:02d}.png", image)
        if palette:
            write_palette_png(root / "masks" / f"part{index:02d}.png", mask)
        else:
            iio.imwrite(root / "masks" / f"part{index:02d}.png", mask)
    return root


def folder_spec(root, **keys):
    return DataSpec(dataset="ImageFolderDataset", dataset_path=str(root), image_shape=[32, 32, 1], train_batch_size=4,
                    eval_batch_size=4, train_test_split=0.5, seed=2, defect_class_names=["crack", "blowhole"], **keys)


@pytest.mark.parametrize("palette", [False, True], ids=["gray", "palette"])
def test_label_masks_become_one_channel_per_named_class(tmp_path, palette):
    from unet_defects.adapters.fingerprinting import measure_sample
    from unet_defects.adapters.images import read_mask

    root = label_folders(tmp_path / "parts", palette=palette)
    spec = folder_spec(root)
    reader = open_image_folder(spec, spec)
    samples = reader.samples("eval")
    masks = np.concatenate([m.numpy() for _, m in reader.evaluation_stream()])
    assert masks.shape == (len(samples), 32, 32, 2)
    for sample, mask in zip(samples, masks):
        labels = read_mask(root / "masks" / sample.image.name)
        assert labels.max() <= 2  # the indices, not the palette's colours (128 for both classes)
        for channel in (0, 1):
            np.testing.assert_array_equal(mask[..., channel] > 0.5, labels == channel + 1)
        facts = measure_sample(sample)  # what unet plan measures: the same label values
        assert facts.label_values == tuple(int(value) for value in np.unique(labels) if value)
    images, train_masks = next(iter(reader.training_stream()))
    assert tuple(images.shape) == (4, 32, 32, 1) and tuple(train_masks.shape) == (4, 32, 32, 2)


def test_a_label_value_no_class_names_is_one_line_naming_the_file(tmp_path):
    root = label_folders(tmp_path / "parts", values=(1, 3))
    spec = folder_spec(root)
    with pytest.raises(DataProblems) as caught:
        reader = open_image_folder(spec, spec)
        reader.samples("train"), reader.samples("eval")
    first = str(caught.value).splitlines()[0]
    assert "part" in first and ("mask value 3 names no class (train_input.defect_class_names has 2: values 1..2, "
                                "0 for good)") in first


def test_the_reference_preset_builds_the_same_seeded_network():
    """Its initial weights with a seed, against the figures of the one-class builder before
    several classes existed (Keras' seeded initializers are stateless, so any CPU gives them)."""
    import keras

    from unet_defects.adapters.tensorflow.builder import KerasUNetBuilder
    from unet_defects.domain.topology import UNetSpec

    keras.utils.set_random_seed(1234)
    model = KerasUNetBuilder("float32", "channels_last").build(UNetSpec(image_shape=(256, 256, 1)))
    weights = np.concatenate([w.ravel() for w in model.get_weights()]).astype(np.float64)
    assert model.count_params() == 1_925_025 and model.output_shape == (None, None, None, 1)
    assert np.abs(weights).sum() == pytest.approx(46024.3653845042, rel=1e-9)
    assert np.square(weights).sum() == pytest.approx(1604.1483627479931, rel=1e-9)


@pytest.mark.slow
def test_two_classes_train_and_score_per_class_and_predict_says_what_it_takes(tmp_path):
    import yaml

    root = label_folders(tmp_path / "parts")
    params = {
        "train_input": {"dataset": "ImageFolderDataset", "dataset_path": str(root), "image_shape": [32, 32, 1],
                        "train_batch_size": 4, "eval_batch_size": 4, "train_test_split": 0.5, "seed": 2,
                        "normalize_data_method": "zero_centered", "defect_class_names": ["crack", "blowhole"]},
        "model": {"encoder_filters": [4, 8], "decoder_filters": [4], "data_format": "channels_last",
                  "loss": "bce_dice"},
        "optimizer": {"learning_rate": 3.0e-3},
        "runconfig": {"model_dir": str(tmp_path / "model"), "max_steps": 8, "save_checkpoints_steps": 8,
                      "log_step_count_steps": 4, "tf_random_seed": 7},
    }
    config = tmp_path / "params.yaml"
    config.write_text(yaml.safe_dump(params))
    done = unet_in_process("run", "-p", str(config), "--mode", "train_and_eval")
    assert done.returncode == 0, done.stderr
    assert "crack" in done.stdout and "kaggle_dice" in done.stdout
    results = json.loads((tmp_path / "model" / "eval" / "results.json").read_text())
    assert set(results["per_class"]) == {"1", "2"}
    assert results["per_class"]["2"]["name"] == "blowhole"
    means = np.mean([results["per_class"][k]["defect_Dice"] for k in ("1", "2")])
    assert results["defect_Dice"] == pytest.approx(means)
    assert 0.0 <= results["kaggle_dice"] <= 1.0
    calibrated = unet_in_process("calibrate", "--model_dir", str(tmp_path / "model"))
    assert calibrated.returncode == 0, calibrated.stderr
    assert "class 2 blowhole:" in calibrated.stdout
    saved = json.loads((tmp_path / "model" / "calibration.json").read_text())
    assert [(c["class_id"], c["name"]) for c in saved["classes"]] == [(1, "crack"), (2, "blowhole")]
    out = tmp_path / "out"
    predicted = unet_in_process("predict", "--model_dir", str(tmp_path / "model"), "--input", str(root / "images"),
                                "--output", str(out), "--rle-csv", str(tmp_path / "sub.csv"))
    assert predicted.returncode == 0, predicted.stderr
    names = sorted(p.name for p in out.glob("part00_*"))
    assert names == ["part00_mask_1.png", "part00_mask_2.png", "part00_overlay.png"]
    rows = (tmp_path / "sub.csv").read_text().splitlines()
    assert rows[0] == "ImageId,ClassId,EncodedPixels" and len(rows) == 1 + 2 * 12
    for row in rows[1:]:
        name, class_id, encoded = row.split(",")
        mask = iio.imread(out / f"{name[:-4]}_mask_{class_id}.png") > 0
        np.testing.assert_array_equal(rle.decode(encoded, mask.shape) if encoded else np.zeros_like(mask), mask)
    verdict = json.loads((out / "predictions.jsonl").read_text().splitlines()[0])
    assert [d["class_id"] for d in verdict["classes"]] == [1, 2]
    assert verdict["classes"][1]["threshold"] == saved["classes"][1]["threshold"]


@pytest.mark.slow
def test_the_inspector_gives_a_mask_per_class_and_records_that_name_them(tmp_path):
    from unet_defects.api import Inspector

    root = label_folders(tmp_path / "parts")
    params = {"train_input": {"dataset": "ImageFolderDataset", "dataset_path": str(root), "image_shape": [32, 32, 1],
                              "train_batch_size": 4, "train_test_split": 0.5, "seed": 2,
                              "defect_class_names": ["crack", "blowhole"]},
              "model": {"encoder_filters": [4, 8], "decoder_filters": [4], "data_format": "channels_last"},
              "runconfig": {"model_dir": str(tmp_path / "model"), "max_steps": 2, "tf_random_seed": 7}}
    from unet_defects.container import build_container

    build_container(params).train().execute()
    inspector = Inspector.open(model_dir=str(tmp_path / "model"), threshold=0.01)
    found = inspector.inspect(iio.imread(root / "images" / "part01.png"))
    assert found.probabilities.shape == (32, 32, 2) and found.mask.shape == (32, 32, 2)
    assert {d.class_name for d in found.defects} <= {"crack", "blowhole"} and found.defects


FOUR_NAMES = ["crack", "blowhole", "break", "fray"]


@pytest.fixture(scope="module")
def four_class_model(tmp_path_factory):
    """A tiny model of four label classes, trained a few steps (these tests compare runtimes,
    not scores)."""
    from unet_defects.container import build_container

    root = tmp_path_factory.mktemp("four")
    parts = label_folders(root / "parts", values=(1, 2, 3, 4))
    params = {"train_input": {"dataset": "ImageFolderDataset", "dataset_path": str(parts), "image_shape": [32, 32, 1],
                              "train_batch_size": 4, "eval_batch_size": 4, "train_test_split": 0.5, "seed": 2,
                              "normalize_data_method": "zero_centered", "defect_class_names": FOUR_NAMES},
              "model": {"encoder_filters": [4, 8], "decoder_filters": [4], "data_format": "channels_last"},
              "runconfig": {"model_dir": str(root / "model"), "max_steps": 3, "tf_random_seed": 7}}
    container = build_container(params)
    container.train().execute()
    model = container.builder().build(container.experiment().model)
    container.checkpoints().restore(model)
    images = np.concatenate([batch.numpy() for batch, _ in container.dataset().evaluation_stream()])
    return root, parts, model, images


@pytest.mark.slow
@pytest.mark.parametrize("fmt, engine", [("savedmodel", "tensorflow"), ("onnx", "onnxruntime"),
                                         ("openvino", "openvino"), ("tflite", "tflite")])
def test_each_export_of_four_classes_gives_tensorflows_four_channels(four_class_model, fmt, engine):
    from unet_defects.adapters.runtimes.registry import EngineRegistry

    root, _, model, images = four_class_model
    exported = unet_in_process("export", "--model_dir", str(root / "model"), "--output", str(root / fmt),
                               "--format", fmt)
    assert exported.returncode == 0, exported.stderr
    loaded, manifest = EngineRegistry().from_export(engine, str(root / fmt))
    assert [(c["class_id"], c["name"]) for c in manifest.classes] == list(zip((1, 2, 3, 4), FOUR_NAMES))
    expected = EngineRegistry().from_model(model).outputs(images)[0]
    found = loaded.outputs(images)[0]
    assert expected.shape == found.shape == (len(images), 32, 32, 4)
    np.testing.assert_allclose(found, expected, atol=1e-4)


@pytest.mark.slow
def test_predict_with_an_export_of_four_classes_and_a_config_of_other_classes(four_class_model, tmp_path):
    root, parts, _, _ = four_class_model
    export = root / "onnx-predict"
    assert unet_in_process("export", "--model_dir", str(root / "model"), "--output", str(export),
                           "--format", "onnx").returncode == 0
    predicted = unet_in_process("predict", "--engine", "onnxruntime", "--model", str(export), "--input",
                                str(parts / "images" / "part01.png"), "--output", str(tmp_path / "out"))
    assert predicted.returncode == 0, predicted.stderr
    assert sorted(p.name for p in (tmp_path / "out").glob("part01_mask_*.png")) == [
        f"part01_mask_{k}.png" for k in (1, 2, 3, 4)]
    manifest = json.loads((export / "unet_export.json").read_text())
    assert [c["class_id"] for c in manifest["classes"]] == [1, 2, 3, 4]
    other = tmp_path / "two_classes"  # a model_dir whose params name two of the classes
    other.mkdir()
    (other / "params.yaml").write_text((root / "model" / "params.yaml").read_text().replace(
        "  - break\n", "").replace("  - fray\n", ""))
    refused = unet_in_process("predict", "--model_dir", str(other), "--engine", "onnxruntime", "--model", str(export),
                              "--input", str(parts / "images"), "--output", str(tmp_path / "out2"))
    assert refused.returncode == 2
    assert refused.stderr.strip().splitlines()[-1] == (
        f"unet: error: {export}/unet_export.json: the export has the classes [1, 2, 3, 4], the config the classes "
        "[1, 2]; pass the training's params")


def test_write_tfrecords_refuses_several_classes_in_one_line(tmp_path):
    import yaml

    root = label_folders(tmp_path / "parts")
    config = tmp_path / "params.yaml"
    config.write_text(yaml.safe_dump({
        "train_input": {"dataset": "ImageFolderDataset", "dataset_path": str(root), "image_shape": [32, 32, 1],
                        "defect_class_names": ["crack", "blowhole"]},
        "runconfig": {"model_dir": str(tmp_path / "model")}}))
    refused = unet_in_process("write-tfrecords", "--params", str(config), "--output_directory", str(tmp_path / "r"))
    assert refused.returncode == 2
    assert refused.stderr.strip().splitlines()[-1] == (
        "unet: error: write-tfrecords: records hold one mask per image; train several defect classes "
        "(train_input.defect_classes, defect_class_names) from the images themselves")
    assert not (tmp_path / "r").exists()


def assert_channels_as_inspector(inspector, batch, probabilities, mask):
    """(N, H, W, K) outputs equal to the Inspector's, the mask by each class's own threshold."""
    assert probabilities.shape == mask.shape == (*batch.shape[:3], len(inspector.session.classes))
    for index, image in enumerate(batch):
        expected = inspector.inspect(image)
        np.testing.assert_allclose(probabilities[index], expected.probabilities, atol=1e-5)
        cutoffs = np.array([d.threshold for d in inspector.session.decisions])
        certain = np.abs(expected.probabilities - cutoffs) > 1e-4
        assert np.array_equal(mask[index].astype(bool)[certain], expected.mask[certain])


@pytest.mark.slow
def test_a_triton_repository_of_four_classes_thresholds_each_channel_in_its_graph(four_class_model, tmp_path):
    from unet_defects.api import Inspector

    ort = pytest.importorskip("onnxruntime")
    root = four_class_model[0]
    done = unet_in_process("export", "--model_dir", str(root / "model"), "--output", str(tmp_path / "repo"),
                           "--format", "triton", "--threshold", "0.3")
    assert done.returncode == 0, done.stderr
    repository = tmp_path / "repo" / "unet"
    text = (repository / "config.pbtxt").read_text()
    assert text.count("dims: [ -1, -1, 4 ]") == 2 and "dims: [ -1, -1, 1 ]" in text
    model_config = pytest.importorskip("tritonclient.grpc.model_config_pb2")
    from google.protobuf import text_format

    config = text_format.Parse(text, model_config.ModelConfig())
    assert [list(t.dims) for t in config.output] == [[-1, -1, 4], [-1, -1, 4]]
    manifest = json.loads((repository / "unet_export.json").read_text())
    assert [c["name"] for c in manifest["classes"]] == FOUR_NAMES
    assert "channel 3: class 4 fray" in (repository / "README.md").read_text()
    session = ort.InferenceSession(str(repository / "1" / "model.onnx"), providers=["CPUExecutionProvider"])
    batch = np.random.default_rng(5).integers(0, 256, (2, 32, 40, 1), dtype=np.uint8)
    outputs = dict(zip([o.name for o in session.get_outputs()], session.run(None, {"image": batch})))
    inspector = Inspector.open(model_dir=str(root / "model"), threshold=0.3, min_area=0)
    assert_channels_as_inspector(inspector, batch, outputs["probabilities"], outputs["mask"])


@pytest.mark.slow
def test_the_server_answers_four_channels_as_the_inspector_and_a_mask_png_per_class(four_class_model):
    import http.client

    from unet_defects.adapters.images import png_bytes
    from unet_defects.api import Inspector

    pytest.importorskip("starlette")
    httpclient = pytest.importorskip("tritonclient.http")
    from unet_defects.serving.runner import serving_in_thread
    from unet_defects.serving.settings import ServeSettings

    root = four_class_model[0]
    inspector = Inspector.open(model_dir=str(root / "model"), threshold=0.3)
    image = np.random.default_rng(6).integers(0, 256, (32, 32), dtype=np.uint8)

    def post(address, path):
        host, port = address.split(":")
        connection = http.client.HTTPConnection(host, int(port), timeout=30)
        try:
            connection.request("POST", path, body=png_bytes(image))
            response = connection.getresponse()
            return response.status, response.read()
        finally:
            connection.close()

    with serving_in_thread(inspector, ServeSettings(max_delay_ms=2)) as address:
        client = httpclient.InferenceServerClient(address)
        try:
            metadata = client.get_model_metadata("unet")
            assert [o["shape"] for o in metadata["outputs"]] == [[-1, -1, -1, 4]] * 2 + [[-1]] * 2  # then score, defective
            assert [c["name"] for c in metadata["parameters"]["classes"]] == FOUR_NAMES
            batch = np.random.default_rng(7).integers(0, 256, (2, 32, 32, 1), dtype=np.uint8)
            tensor = httpclient.InferInput("image", list(batch.shape), "UINT8")
            tensor.set_data_from_numpy(batch)
            result = client.infer("unet", [tensor])
            assert_channels_as_inspector(inspector, batch, result.as_numpy("probabilities"), result.as_numpy("mask"))
        finally:
            client.close()
        status, body = post(address, "/v1/inspect?mask=png")
        assert status == 400 and b"pick one with class=K" in body
        status, body = post(address, "/v1/inspect?mask=png&class=5")
        assert status == 400 and b"the model has the classes [1, 2, 3, 4]" in body
        status, body = post(address, "/v1/inspect?mask=png&class=3")
        assert status == 200
        np.testing.assert_array_equal(iio.imread(body) > 0, inspector.inspect(image).mask[..., 2])
        status, body = post(address, "/v1/inspect")
        answer = json.loads(body)
        assert [c["class_id"] for c in answer["decision"]["classes"]] == [1, 2, 3, 4]
        assert {d["class_name"] for d in answer["defects"]} <= set(FOUR_NAMES)


def test_a_one_class_export_asked_for_another_class_is_one_line(tiny_exports, trained_tiny, tmp_path):
    """The session's tiny model learnt DAGM's Class1; its manifest says so."""
    import yaml

    export = tiny_exports["onnx"]
    assert json.loads((export / "unet_export.json").read_text())["class_id"] == 1
    images = tmp_path / "in"
    images.mkdir()
    iio.imwrite(images / "a.png", np.full((32, 32), 120, np.uint8))
    refused = unet_in_process("predict", "--model", str(export), "--engine", "onnxruntime", "--input", str(images),
                              "--output", str(tmp_path / "out"), "--rle-csv", str(tmp_path / "s.csv"), "--class_id", "3")
    assert refused.returncode == 2
    line = refused.stderr.strip().splitlines()[-1]
    assert line.startswith("unet: error: --class_id 3: the export ") and line.endswith(
        "is a one-class model of class 1; drop --class_id")
    other = tmp_path / "class2"  # a model_dir whose params name Class2
    other.mkdir()
    params = yaml.safe_load((trained_tiny / "params.yaml").read_text())
    params["train_input"]["class_id"] = 2
    (other / "params.yaml").write_text(yaml.safe_dump(params))
    refused = unet_in_process("predict", "--model_dir", str(other), "--model", str(export), "--engine", "onnxruntime",
                              "--input", str(images), "--output", str(tmp_path / "o2"))
    assert refused.returncode == 2
    assert refused.stderr.strip().splitlines()[-1] == (
        f"unet: error: {export}/unet_export.json: the export is a model of class 1, the config asks for class 2; "
        "pass the training's params")
    done = unet_in_process("predict", "--model", str(export), "--engine", "onnxruntime", "--input", str(images),
                           "--output", str(tmp_path / "o3"), "--rle-csv", str(tmp_path / "t.csv"))
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "t.csv").read_text().splitlines()[1].split(",")[1] == "1"  # the export's own class


@pytest.mark.slow
def test_the_reference_preset_trains_to_the_weights_it_trained_to_before_several_classes(tmp_path):
    """params_dagm.yaml's network, 3 seeded steps at 32 x 32: the last loss and the weights' move
    from their seeded start, as measured at c896859, the commit before several classes (sum and
    abs sum of the move; a seeded sign vector's dot product with it, which a changed gradient
    would turn)."""
    from unet_defects.adapters.datasets.synthetic_dagm import SyntheticDagmSpec
    from unet_defects.adapters.datasets.synthetic_dagm import generate as generate_dagm
    from unet_defects.configs.loader import preset_path
    from unet_defects.container import build_container

    generate_dagm(SyntheticDagmSpec(class_ids=(1,), train_images=8, test_images=2, image_size=32, seed=3),
                  tmp_path / "d")
    overrides = [f"train_input.dataset_path={tmp_path / 'd'}", "train_input.image_shape=[32,32,1]",
                 "train_input.train_batch_size=2", "train_input.seed=1", "model.mixed_precision=False",
                 "runconfig.save_checkpoints_steps=3"]
    container = build_container(str(preset_path("params_dagm.yaml")), {"model_dir": str(tmp_path / "m"),
                                "max_steps": 3, "tf_random_seed": 1234}, overrides=overrides)
    outcome = container.train().execute()
    model = container.builder().build(container.experiment().model)
    start = np.concatenate([w.ravel() for w in model.get_weights()]).astype(np.float64)
    container.checkpoints().restore(model)
    moved = np.concatenate([w.ravel() for w in model.get_weights()]).astype(np.float64) - start
    signs = np.random.default_rng(0).choice([-1.0, 1.0], size=moved.size)
    assert model.count_params() == 1_925_025
    assert outcome.last_loss == pytest.approx(0.6959620118141174, rel=1e-4)
    assert moved.sum() == pytest.approx(10.210356373783839, rel=1e-3)
    assert np.abs(moved).sum() == pytest.approx(107.20639869011393, rel=1e-3)
    assert float(moved @ signs) == pytest.approx(0.10437239578232038, abs=0.02)
