"""The keys that choose several defect classes: what they build, and one line for each misuse."""

import pytest

from unet_defects.configs.loader import build_experiment
from unet_defects.domain.errors import ConfigError


def experiment(dataset="SeverstalDataset", **train_input):
    return build_experiment({"train_input": {"dataset": dataset, "dataset_path": "d", "image_shape": [256, 256, 1],
                                             **train_input}, "runconfig": {"model_dir": "m"}})


def test_four_severstal_classes_give_four_logit_channels_and_a_one_class_preset_is_unchanged():
    four = experiment(defect_classes=[1, 2, 3, 4])
    assert four.model.num_classes == 5 and four.model.defect_channels == 4
    assert four.data.classes == (1, 2, 3, 4) and four.data.class_names == ("class 1", "class 2", "class 3", "class 4")
    # The output convolution grows by 3 x (32 weights + 1 bias); one class stays the reference's.
    one = experiment(class_id=3, num_classes=2)
    assert one.model.parameter_count() == 1_925_025 and one.data.classes == (3,)
    assert four.model.parameter_count() == 1_925_025 + 3 * 33
    assert experiment(defect_classes=[2, 4], num_classes=3).model.num_classes == 3


def test_label_masks_of_named_classes_for_image_folders():
    spec = experiment("ImageFolderDataset", defect_class_names=["crack", "blowhole"]).data
    assert spec.label_masks and spec.classes == (1, 2) and spec.class_names == ("crack", "blowhole")
    assert not experiment("ImageFolderDataset").data.label_masks


@pytest.mark.parametrize("dataset, keys, message", [
    ("SeverstalDataset", {"defect_classes": [1, 2], "class_id": 1},
     "train_input.defect_classes: set it or train_input.class_id (one class), not both"),
    ("DAGM2007Dataset", {"defect_classes": [1, 2]},
     "train_input.defect_classes: DAGM has one defect type per ClassN folder; pick the folder with train_input.class_id"),
    ("ImageFolderDataset", {"defect_classes": [1, 2]},
     "train_input.defect_classes: names Severstal ClassIds; ImageFolderDataset takes train_input.defect_class_names"),
    ("SeverstalDataset", {"defect_classes": [1, 1]}, "train_input.defect_classes: a class is listed twice in [1, 1]"),
    ("SeverstalDataset", {"defect_classes": [1, 2, 3, 4], "num_classes": 2},
     "train_input.num_classes: must be 5 (4 defect classes + 1 for the background), got 2"),
    ("SeverstalDataset", {"defect_class_names": ["a", "b"]},
     "train_input.defect_class_names: for ImageFolderDataset label masks and annotations' categories; "
     "SeverstalDataset takes train_input.defect_classes"),
    ("ImageFolderDataset", {"defect_class_names": ["crack", "crack"]}, "train_input.defect_class_names: 'crack' is named twice"),
    ("SeverstalTFRecordsDataset", {"defect_classes": [1, 2]},
     "train_input.defect_classes: SeverstalTFRecordsDataset holds one mask per image; read the images with "
     "SeverstalDataset for several classes"),
    ("SeverstalDataset", {"num_classes": 1}, "train_input.num_classes: the defect classes + 1 for the background "
                                             "(2 for one defect class), got 1"),
])
def test_each_misuse_is_one_line_naming_the_key(dataset, keys, message):
    with pytest.raises(ConfigError) as caught:
        experiment(dataset, **keys)
    assert str(caught.value) == message
