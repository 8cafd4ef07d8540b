"""The classifier head through the real network, readers, calibration, evaluation and predict:
its gate scored beside the segmentation rule, applied when asked (a Triton repository gives its
output and says how), and the parts that carry only an image label."""

import json
import shutil

import numpy as np
import pytest

from tests.conftest import tiny_params, unet_in_process
from unet_defects.adapters.datasets import pipeline
from unet_defects.adapters.datasets.dagm import open_dagm
from unet_defects.adapters.datasets.image_folder import open_image_folder
from unet_defects.adapters.datasets.synthetic_rare import SyntheticRareSpec, generate
from unet_defects.domain.data import DataSpec, Sample
from unet_defects.domain.errors import ConfigError, DataError
from unet_defects.domain.image_labels import UNKNOWN_DEFECT


def head_params(dataset, model_dir, **model):
    params = tiny_params(dataset, model_dir, max_steps=12)
    params["model"].update(classifier_head=True, **model)
    return params


@pytest.fixture(scope="module")
def head_model(tiny_dagm, tmp_path_factory):
    """A tiny DAGM model with a classifier head, trained and calibrated once."""
    from unet_defects.container import build_container

    model_dir = tmp_path_factory.mktemp("head_model")
    container = build_container(head_params(tiny_dagm, model_dir))
    container.train().execute()
    report = container.calibrate().execute()
    return model_dir, report


def test_the_head_trains_and_its_gate_is_calibrated_and_scored_beside_the_rule(head_model, tiny_dagm):
    from unet_defects.container import build_container

    model_dir, report = head_model
    container = build_container(head_params(tiny_dagm, model_dir))
    model = container.session_opener().open().model
    assert model.count_params() == container.experiment().model.parameter_count()
    (search,) = report.gates
    assert search.best.scores.image_F1 >= search.baseline.scores.image_F1  # never below the rule alone
    written = json.loads((model_dir / "calibration.json").read_text())
    assert set(written["gate"]) == {"threshold", "area_bar", "before", "after", "candidates"}
    assert written["gate"]["threshold"] == search.best.gate.threshold
    result = container.evaluate().execute().as_dict()
    assert set(result["gate"]) == {"threshold", "area_bar", "segmentation", "classifier"}
    assert result["gate"]["segmentation"]["image_F1"] == pytest.approx(search.baseline.scores.image_F1)
    assert result["gate"]["classifier"]["image_F1"] == pytest.approx(search.best.scores.image_F1)
    # decision_gate: none reports the gate; the pixel scores are the rule's own.
    assert result["image_F1"] == pytest.approx(search.baseline.scores.image_F1)


def test_an_applied_gate_is_the_decision_of_evaluation_predict_and_the_inspector(head_model, tiny_dagm, tmp_path):
    from unet_defects.api import Inspector
    from unet_defects.container import build_container

    model_dir, report = head_model
    gated = build_container(head_params(tiny_dagm, model_dir, decision_gate="classifier"))
    result = gated.evaluate().execute().as_dict()
    assert result["image_F1"] == pytest.approx(report.gates[0].best.scores.image_F1)
    assert "classifier gate" in result["decision"]
    predicted = gated.predict().execute([str(tiny_dagm / "Class1" / "Test")], str(tmp_path / "out"))
    line = json.loads((tmp_path / "out" / "predictions.jsonl").read_text().splitlines()[0])
    assert line["gate"] == report.gates[0].best.gate.as_dict() and len(line["classifier"]) == 1
    assert "classifier gate" in predicted.decision
    inspector = Inspector.open(model_dir=str(model_dir))  # its params.yaml: decision_gate none
    found = inspector.inspect(np.full((32, 32), 128, np.uint8))
    assert found.image_probabilities.shape == (1,) and not inspector.session.gated


@pytest.mark.slow
@pytest.mark.parametrize("fmt, engine", [("savedmodel", "tensorflow"), ("onnx", "onnxruntime"),
                                         ("openvino", "openvino"), ("tflite", "tflite")])
def test_each_export_carries_the_head_and_applies_the_gate_as_the_checkpoint(head_model, tiny_dagm, tmp_path, fmt,
                                                                             engine):
    from unet_defects.api import Inspector
    from unet_defects.container import build_container

    pytest.importorskip({"onnxruntime": "onnxruntime", "openvino": "openvino", "tflite": "ai_edge_litert"}.get(
        engine, "tensorflow"))
    model_dir, report = head_model
    gated = build_container(head_params(tiny_dagm, model_dir, decision_gate="classifier"))
    gated.export().execute(str(tmp_path / "export"), format=fmt)
    manifest = json.loads((tmp_path / "export" / "unet_export.json").read_text())
    assert manifest["gate"] == {**report.gates[0].best.gate.as_dict(), "area_at": [32, 32]}  # the training size
    from_export = Inspector.open(export=str(tmp_path / "export"), engine=engine)
    assert from_export.session.gated and from_export.session.has_classifier
    # The checkpoint's inspector under the same gate: the model_dir's config says decision_gate none.
    checkpoint = gated.session_opener().open()
    images = np.random.default_rng(4).integers(0, 256, (3, 32, 32), dtype=np.uint8)
    for image in images:
        found = from_export.inspect(image)
        (expected,), (classified,) = [checkpoint.engine.outputs(checkpoint.model_input(image)[None])[i] for i in (0, 1)]
        np.testing.assert_allclose(found.image_probabilities, classified, atol=1e-4)
        np.testing.assert_allclose(found.probabilities, expected[..., 0], atol=1e-4)


@pytest.mark.slow
def test_a_triton_repository_gives_the_heads_output_and_says_how_its_gate_decides(head_model, tiny_dagm, tmp_path):
    from unet_defects.container import build_container

    ort = pytest.importorskip("onnxruntime")
    pytest.importorskip("tf2onnx")
    model_dir, report = head_model
    gated = build_container(head_params(tiny_dagm, model_dir, decision_gate="classifier"))
    gated.export().execute(str(tmp_path / "repository"), format="triton")
    repository = tmp_path / "repository" / "unet"
    config = (repository / "config.pbtxt").read_text()
    assert 'name: "image_probabilities"' in config and "dims: [ 1 ]" in config
    gate = report.gates[0].best.gate
    assert json.loads((repository / "unet_export.json").read_text())["gate"]["threshold"] == gate.threshold
    assert f"defective when its probability is {gate.threshold:g} or more" in (repository / "README.md").read_text()
    session = ort.InferenceSession(str(repository / "1" / "model.onnx"), providers=["CPUExecutionProvider"])
    images = np.random.default_rng(6).integers(0, 256, (2, 32, 32, 1), dtype=np.uint8)
    outputs = dict(zip([o.name for o in session.get_outputs()], session.run(None, {"image": images})))
    checkpoint = gated.session_opener().open()
    for image, classified in zip(images, outputs["image_probabilities"]):
        expected = checkpoint.engine.outputs(checkpoint.model_input(image[..., 0])[None])[1]
        np.testing.assert_allclose(classified, expected[0], atol=1e-4)


def test_a_gate_the_export_lacks_is_one_line(head_model, tiny_dagm, tmp_path):
    from unet_defects.application.options import InferenceOptions
    from unet_defects.container import build_container

    model_dir, _ = head_model
    gated = build_container(head_params(tiny_dagm, model_dir, decision_gate="classifier"))
    plain = build_container(head_params(tiny_dagm, model_dir))  # decision_gate none: the export applies no gate
    plain.export().execute(str(tmp_path / "export"), format="onnx")
    assert "gate" not in json.loads((tmp_path / "export" / "unet_export.json").read_text())
    with pytest.raises(ConfigError, match="the export applies no classifier gate, the config's model.decision_gate "
                                          "is classifier"):
        gated.predict().execute([str(tiny_dagm / "Class1" / "Test")], str(tmp_path / "out"),
                                InferenceOptions(model=str(tmp_path / "export"), engine="onnxruntime"))
    # The other way round: the model's own config with decision_gate none reports a gated export's gate.
    gated.export().execute(str(tmp_path / "gated"), format="onnx")
    plain.predict().execute([str(tiny_dagm / "Class1" / "Test")], str(tmp_path / "reported"),
                            InferenceOptions(model=str(tmp_path / "gated"), engine="onnxruntime"))
    line = json.loads((tmp_path / "reported" / "predictions.jsonl").read_text().splitlines()[0])
    assert "gate" not in line and len(line["classifier"]) == 1


def test_a_dagm_row_flagged_defective_without_its_mask_is_an_image_label_with_the_option(tiny_dagm, tmp_path):
    root = tmp_path / "dagm"
    shutil.copytree(tiny_dagm, root)
    masks = sorted((root / "Class1" / "Train" / "Label").glob("*_label.PNG"))
    masks[0].unlink()
    spec = DataSpec(dataset="DAGM2007Dataset", dataset_path=str(root), class_id=1, image_shape=[32, 32, 1])
    with pytest.raises(DataError, match=f"{masks[0].name} is listed but .* does not exist"):
        open_dagm(spec, spec).samples("train")
    labelled = DataSpec(dataset="DAGM2007Dataset", dataset_path=str(root), class_id=1, image_shape=[32, 32, 1],
                        image_labels_only=True)
    samples = open_dagm(labelled, labelled).samples("train")
    only = [s for s in samples if s.label_only]
    assert len(only) == 1 and only[0].mask is None and only[0].image.name == masks[0].name.replace("_label", "")


def rare_folders(root, defective=0):
    generate(SyntheticRareSpec(images=16, defective_fraction=0.5, min_side=32, max_side=48, seed=2), root / "train")
    generate(SyntheticRareSpec(images=6, defective_fraction=0.5, min_side=32, max_side=48, seed=3), root / "test")
    if defective:
        (root / "train" / "defective").mkdir()
        for path in sorted((root / "train" / "images").iterdir())[:defective]:
            shutil.copy(path, root / "train" / "defective" / f"extra_{path.name}")
    return root


def folder_spec(root, **keys):
    return DataSpec(dataset="ImageFolderDataset", dataset_path=str(root), image_shape=[32, 32, 1], seed=1, **keys)


def test_a_defective_folder_trains_with_image_labels_and_its_masks_are_unknown(tmp_path):
    root = rare_folders(tmp_path / "rare", defective=3)
    spec = folder_spec(root, image_labels_only=True, validation_split=0.25)
    reader = open_image_folder(spec, spec)
    train, validation = reader.samples("train"), reader.samples("validation")
    assert sum(s.label_only for s in train) == 3 and not any(s.label_only for s in validation)
    assert not any(s.label_only for s in reader.samples("test"))
    image, mask = next(iter(pipeline.evaluation_stream([Sample(train[-1].image, None, label_only=True)], spec)))
    assert np.all(mask.numpy() == UNKNOWN_DEFECT)
    with pytest.raises(DataError, match="defective: not found"):
        bare = folder_spec(rare_folders(tmp_path / "bare"), image_labels_only=True)
        open_image_folder(bare, bare).samples("train")


def test_masked_fraction_turns_the_other_masks_into_image_labels_or_leaves_them_out(tmp_path):
    root = rare_folders(tmp_path / "rare")
    full = open_image_folder(folder_spec(root), folder_spec(root)).samples("train")
    drawn = sum(s.mask is not None for s in full)
    labelled_spec = folder_spec(root, masked_fraction=0.25, image_labels_only=True)
    labelled = open_image_folder(labelled_spec, labelled_spec).samples("train")
    assert len(labelled) == len(full) and sum(s.mask is not None for s in labelled) == round(0.25 * drawn)
    assert sum(s.label_only for s in labelled) == drawn - round(0.25 * drawn)
    alone_spec = folder_spec(root, masked_fraction=0.25)
    alone = open_image_folder(alone_spec, alone_spec).samples("train")
    assert len(alone) == len(full) - (drawn - round(0.25 * drawn)) and not any(s.label_only for s in alone)
    kept = {s.image for s in alone if s.mask is not None}
    assert kept == {s.image for s in labelled if s.mask is not None}  # the same seeded share either way


def test_the_cli_says_which_gate_it_chose(head_model, tiny_dagm, tmp_path):
    model_dir, _ = head_model
    result = unet_in_process("calibrate", "--model_dir", str(model_dir))
    assert result.returncode == 0, result.stderr
    assert "gate: " in result.stdout and "false alarms" in result.stdout


def test_the_cli_calibrates_the_verdict_to_a_recall_of_defective_parts(head_model, tmp_path):
    import shutil

    model_dir, _ = head_model
    copy = tmp_path / "model"
    shutil.copytree(model_dir, copy)
    gated = ("--set", "model.decision_gate=classifier")  # the gate is the part's verdict: it takes the target
    result = unet_in_process("calibrate", "--model_dir", str(copy), "--image_recall", "1.0", *gated)
    assert result.returncode == 0, result.stderr
    written = json.loads((copy / "calibration.json").read_text())
    assert written["gate"]["after"]["image_recall"] == 1.0
    assert "the part verdict the fewest false alarms at image recall >= 1" in written["chosen_on"]
    refused = unet_in_process("calibrate", "--model_dir", str(copy), "--image_recall", "1.5")
    assert refused.returncode == 2 and refused.stderr.strip().splitlines()[-1].endswith(
        "--image_recall: a recall of defective parts in (0, 1], got 1.5")


@pytest.mark.parametrize("keys, named", [({"image_labels_only": True}, "image_labels_only"),
                                         ({"masked_fraction": 0.5}, "masked_fraction")])
def test_write_tfrecords_refuses_parts_with_a_label_only_in_one_line(tmp_path, keys, named):
    import yaml

    root = rare_folders(tmp_path / "rare", defective=1)
    config = tmp_path / "params.yaml"
    config.write_text(yaml.safe_dump({
        "train_input": {"dataset": "ImageFolderDataset", "dataset_path": str(root), "image_shape": [32, 32, 1],
                        **keys},
        "model": {"classifier_head": True}, "runconfig": {"model_dir": str(tmp_path / "model")}}))
    refused = unet_in_process("write-tfrecords", "--params", str(config), "--output_directory", str(tmp_path / "r"))
    assert refused.returncode == 2
    assert refused.stderr.strip().splitlines()[-1] == (
        f"unet: error: train_input.{named}: records hold a mask per image, not a part with its label only; train "
        "from the image files")
    assert not (tmp_path / "r").exists()
