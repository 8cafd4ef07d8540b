from unet_defects.application.compilation import element_problems
from unet_defects.application.values import BatchSpec, TensorSpec
from unet_defects.domain.data import DataSpec

DATA = DataSpec(dataset="DAGM2007Dataset", image_shape=(32, 32, 1))


def spec(images, masks, dtype="float32"):
    return BatchSpec(TensorSpec(tuple(images), dtype), TensorSpec(tuple(masks), "float32"))


def test_a_matching_pipeline_has_no_problems():
    assert element_problems(spec([4, 32, 32, 1], [4, 32, 32, 1]), DATA, stride=8) == []


def test_each_mismatch_is_one_line():
    problems = element_problems(spec([4, 30, 32, 3], [4, 32, 32, 2], "uint8"), DATA, stride=4)
    assert problems == [
        "train_input.image_shape: the pipeline yields [30, 32, 3], the model expects [32, 32, 1]",
        "masks [32, 32, 2] do not match images [30, 32] with one channel",
        "images arrive as uint8; the training step takes float32",
        "train_input.image_shape: side 30 is not a multiple of the network's stride 4",
    ]
    not_a_pair = BatchSpec(None, None, problem="the training stream yields TensorSpec(...), not (images, masks)")
    assert element_problems(not_a_pair, DATA, 4)[0].startswith("the training stream yields")
