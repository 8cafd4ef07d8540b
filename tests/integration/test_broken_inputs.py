"""A corpus of broken and unusual inputs, made by the tests: each is read right or named in one line."""

import shutil

import imageio.v3 as iio
import numpy as np
import pytest

from unet_defects.adapters.datasets.dagm import list_samples, open_dagm
from unet_defects.adapters.images import read_gray
from unet_defects.domain.data import DataSpec
from unet_defects.domain.errors import DataError

IMAGE_ID = "0010"  # a defective training image of the tiny dataset (checked below)


def dataset_copy(tiny_dagm, tmp_path):
    root = tmp_path / "data"
    shutil.copytree(tiny_dagm, root)
    train = root / "Class1" / "Train"
    assert (train / "Label" / f"{IMAGE_ID}_label.PNG").is_file()
    return root, train


def spec(root) -> DataSpec:
    return DataSpec(dataset="DAGM2007Dataset", dataset_path=str(root), image_shape=(32, 32, 1), class_id=1,
                    train_batch_size=2, eval_batch_size=2, normalize_data_method="zero_one",
                    shuffle=False, augment_data=False)


def first_batches(root):
    reader = open_dagm(spec(root), spec(root))
    images, masks = [], []
    for image, mask in reader.training_stream().take(6):
        images.append(image.numpy())
        masks.append(mask.numpy())
    return np.concatenate(images), np.concatenate(masks)


def index_of(root, name):
    return [s.image.name for s in list_samples(spec(root), "Train")].index(name)


BROKEN = {
    "zero-byte PNG": lambda train: (train / f"{IMAGE_ID}.PNG").write_bytes(b""),
    "truncated PNG": lambda train: (train / f"{IMAGE_ID}.PNG").write_bytes((train / f"{IMAGE_ID}.PNG").read_bytes()[:60]),
    "truncated JPEG": lambda train: (train / f"{IMAGE_ID}.PNG").write_bytes(
        iio.imwrite("<bytes>", np.full((32, 32), 90, np.uint8), extension=".jpg")[:100]),
    "text, not an image": lambda train: (train / f"{IMAGE_ID}.PNG").write_text("hello"),
    "mask of the wrong size": lambda train: iio.imwrite(train / "Label" / f"{IMAGE_ID}_label.PNG",
                                                        np.zeros((16, 16), np.uint8), extension=".png"),
    "mask with grey values": lambda train: iio.imwrite(
        train / "Label" / f"{IMAGE_ID}_label.PNG", np.tile(np.array([0, 128, 255], np.uint8), (32, 11))[:, :32],
        extension=".png"),
    "zero-byte mask": lambda train: (train / "Label" / f"{IMAGE_ID}_label.PNG").write_bytes(b""),
}


@pytest.mark.parametrize("name", sorted(BROKEN))
def test_broken_files_are_named_in_one_line(tiny_dagm, tmp_path, name):
    root, train = dataset_copy(tiny_dagm, tmp_path)
    BROKEN[name](train)
    with pytest.raises(DataError) as caught:
        open_dagm(spec(root), spec(root)).training_size()
    message = str(caught.value)
    assert IMAGE_ID in message and "\n" not in message


def test_sixteen_bit_rgba_and_colour_images_are_read_as_gray(tiny_dagm, tmp_path):
    root, train = dataset_copy(tiny_dagm, tmp_path)
    gray = read_gray(train / f"{IMAGE_ID}.PNG")
    expected_images, expected_masks = first_batches(root)
    iio.imwrite(train / f"{IMAGE_ID}.PNG", gray.astype(np.uint16) * 257, extension=".png")
    sixteen, masks = first_batches(root)
    index = index_of(root, f"{IMAGE_ID}.PNG")
    np.testing.assert_allclose(sixteen[index], expected_images[index], atol=1 / 255)
    np.testing.assert_array_equal(masks, expected_masks)
    rgba = np.dstack([gray, gray, gray, np.full_like(gray, 7)])
    iio.imwrite(train / f"{IMAGE_ID}.PNG", rgba, extension=".png")
    np.testing.assert_allclose(first_batches(root)[0][index], expected_images[index], atol=1 / 255)


def test_zero_one_masks_are_accepted_as_binary(tiny_dagm, tmp_path):
    root, train = dataset_copy(tiny_dagm, tmp_path)
    _, expected_masks = first_batches(root)
    label = train / "Label" / f"{IMAGE_ID}_label.PNG"
    iio.imwrite(label, (read_gray(label) > 0).astype(np.uint8), extension=".png")
    _, masks = first_batches(root)
    np.testing.assert_array_equal(masks, expected_masks)


@pytest.mark.parametrize("row, reason", [
    (f"{IMAGE_ID}\t1\t{IMAGE_ID}.PNG\t0", "expected 5 tab-separated fields, got 4"),
    (f"{IMAGE_ID}\t1\t{IMAGE_ID}.PNG\t0\t{IMAGE_ID}_label.PNG\tx", "expected 5 tab-separated fields, got 6"),
])
def test_labels_rows_with_missing_or_extra_columns(tiny_dagm, tmp_path, row, reason):
    root, train = dataset_copy(tiny_dagm, tmp_path)
    labels = train / "Label" / "Labels.txt"
    lines = labels.read_bytes().decode().split("\r\n")
    number = next(i for i, line in enumerate(lines) if line.startswith(IMAGE_ID + "\t"))
    lines[number] = row
    labels.write_bytes("\r\n".join(lines).encode())
    with pytest.raises(DataError) as caught:
        open_dagm(spec(root), spec(root)).training_size()
    assert str(caught.value).startswith(f"{labels}:{number + 1}: {reason}")


@pytest.mark.parametrize("colour", [False, True])
def test_a_jpeg_decodes_in_the_pipeline_to_the_pixels_predict_reads(tmp_path, colour):
    """Evaluation decodes in the graph, `unet predict` and the Inspector through imageio: the same
    pixels, or the figure a run reports is not the line's (TensorFlow's default fast DCT moved
    half the pixels of a real photograph by up to 5 gray levels)."""
    import tensorflow as tf

    from unet_defects.adapters.datasets.decoding import decode_bytes

    rng = np.random.default_rng(3)
    texture = np.clip(rng.normal(120, 40, (48, 64)).cumsum(axis=1) / 8 % 256, 0, 255).astype(np.uint8)
    image = np.dstack([texture] * 3) if colour else texture
    path = tmp_path / "part.jpg"
    iio.imwrite(path, image, extension=".jpg", quality=90)
    decoded = decode_bytes(tf.io.read_file(str(path)), 1).numpy()[..., 0]
    np.testing.assert_array_equal(decoded, read_gray(path).astype(np.float32))
