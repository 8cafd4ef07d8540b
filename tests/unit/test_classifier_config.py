"""The classifier head's keys: what they add to the network, and one line for each bad combination."""

import pytest

from unet_defects.configs.loader import load_config
from unet_defects.domain.errors import ConfigError

FOLDER = {"dataset": "ImageFolderDataset", "dataset_path": "/data", "image_shape": [64, 64, 1]}


def config(train_input=None, **model):
    return load_config({"train_input": {**FOLDER, **(train_input or {})}, "model": model,
                        "runconfig": {"model_dir": "/tmp/unused"}})[0]


def test_the_head_adds_one_dense_layer_on_the_pooled_bottleneck():
    plain, head = config().model, config(classifier_head=True).model
    bottleneck = plain.encoder_filters[-1]
    assert head.parameter_count() - plain.parameter_count() == 2 * bottleneck + 1  # mean and max in, one class out
    assert "model.classifier_head False -> True" in plain.weight_differences(head)
    several = config({"defect_class_names": ["crack", "hole", "stain"]}, classifier_head=True).model
    assert several.layers()[-1].out_channels == 3


@pytest.mark.parametrize("train_input, model, message", [
    ({}, {"decision_gate": "classifier"}, "model.decision_gate: classifier needs model.classifier_head: true"),
    ({"image_labels_only": True}, {}, "train_input.image_labels_only: parts without masks train only the classifier"),
    ({"image_labels_only": True, "image_fit": "crop"}, {"classifier_head": True},
     "train_input.image_labels_only: needs whole images"),
    ({"image_labels_only": True, "defect_class_names": ["a", "b"]}, {"classifier_head": True},
     "train_input.image_labels_only: one defect class only"),
    ({"dataset": "SeverstalDataset", "image_labels_only": True}, {"classifier_head": True},
     "SeverstalDataset has no image-level labels"),
    ({"masked_fraction": 0.0}, {}, r"train_input.masked_fraction: must be in \(0.0, 1.0\]"),
    ({}, {"decision_gate": "veto"}, "model.decision_gate"),
])
def test_a_bad_combination_is_one_line(train_input, model, message):
    with pytest.raises(ConfigError, match=message) as raised:
        config(train_input, **model)
    assert "\n" not in str(raised.value)


@pytest.mark.parametrize("runconfig, optimizer, message", [
    ({"calibrate": True}, {}, r"runconfig.calibrate: calibrates on the validation part, apart from the test images; "
                              r"set train_input.validation_split"),
    ({"image_recall": 1.5}, {}, r"runconfig.image_recall: must be in \(0.0, 1.0\]"),
    ({}, {"schedule_follows": "time_budget"}, "optimizer.schedule_follows: time_budget needs runconfig.time_budget"),
    ({}, {"schedule_follows": "clock"}, "optimizer.schedule_follows"),
])
def test_a_bad_run_setting_of_the_verdict_or_the_schedule_is_one_line(runconfig, optimizer, message):
    with pytest.raises(ConfigError, match=message) as raised:
        load_config({"train_input": FOLDER, "optimizer": optimizer, "runconfig": {"model_dir": "/tmp/unused", **runconfig}})
    assert "\n" not in str(raised.value)
