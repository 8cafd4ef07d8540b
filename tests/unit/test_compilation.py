from types import SimpleNamespace

from application.compilation import element_problems
from domain.data import DataSpec

DATA = DataSpec(dataset="DAGM2007Dataset", image_shape=(32, 32, 1))


def spec(shape, dtype="float32"):
    return SimpleNamespace(shape=shape, dtype=SimpleNamespace(name=dtype))


def test_a_matching_pipeline_has_no_problems():
    assert element_problems((spec([4, 32, 32, 1]), spec([4, 32, 32, 1])), DATA, stride=8) == []


def test_each_mismatch_is_one_line():
    problems = element_problems((spec([4, 30, 32, 3], "uint8"), spec([4, 32, 32, 2])), DATA, stride=4)
    assert problems == [
        "train_input.image_shape: the pipeline yields [30, 32, 3], the model expects [32, 32, 1]",
        "masks [32, 32, 2] do not match images [30, 32] with one channel",
        "images arrive as uint8; the training step takes float32",
        "train_input.image_shape: side 30 is not a multiple of the network's stride 4",
    ]
    assert element_problems(spec([4]), DATA, 4)[0].startswith("the training stream yields")
