"""Your own folders of images and masks; augmentation applied identically to image and mask."""

import numpy as np
import pytest

from unet_defects.adapters.datasets import pipeline
from unet_defects.adapters.datasets.image_folder import open_image_folder
from unet_defects.adapters.images import write_png
from unet_defects.domain.augmentation import AugmentationSpec
from unet_defects.domain.data import DataSpec, Sample
from unet_defects.domain.errors import DataError


def folder_spec(root, **keys):
    values = {"dataset": "ImageFolderDataset", "dataset_path": str(root), "image_shape": [32, 32, 1],
              "train_batch_size": 2, "eval_batch_size": 3, "seed": 4, **keys}
    return DataSpec(**values)


def write_pairs(folder, count, rng, size=(40, 56), mask_every=2):
    (folder / "images").mkdir(parents=True)
    (folder / "masks").mkdir()
    for index in range(count):
        write_png(folder / "images" / f"img{index:02d}.png", rng.integers(0, 256, size, dtype=np.uint8))
        if index % mask_every == 0:
            mask = np.zeros(size, np.uint8)
            mask[5:20, 10:30] = 200  # soft-edged masks are binarized at mask_threshold (128)
            mask[5:20, 10] = 100
            write_png(folder / "masks" / f"img{index:02d}.png", mask)


def test_a_single_folder_is_split_and_masks_are_thresholded(tmp_path):
    write_pairs(tmp_path, 10, np.random.default_rng(0))
    native = folder_spec(tmp_path, train_test_split=0.7, image_shape=[40, 56, 1])
    reader = open_image_folder(native, native)
    assert (reader.training_size(), reader.evaluation_size()) == (7, 3)
    expected = np.zeros((40, 56), np.float32)
    expected[5:20, 11:30] = 1.0  # the column of 100 is below mask_threshold 128
    names = [sample.image.name for sample in reader.samples("eval")]
    images, masks = next(iter(reader.evaluation_stream()))
    assert images.shape == (3, 40, 56, 1)
    for name, mask in zip(names, masks.numpy()[..., 0]):
        np.testing.assert_array_equal(mask, expected if int(name[3:5]) % 2 == 0 else 0 * expected)
    resized = open_image_folder(folder_spec(tmp_path), folder_spec(tmp_path))
    assert next(iter(resized.evaluation_stream()))[0].shape == (2, 32, 32, 1)  # default split 0.8
    defective = open_image_folder(folder_spec(tmp_path, only_defective_images=True), folder_spec(tmp_path))
    assert defective.training_size() + defective.evaluation_size() == 5


def test_train_and_test_subfolders_and_an_orphan_mask(tmp_path):
    rng = np.random.default_rng(1)
    write_pairs(tmp_path / "train", 4, rng)
    write_pairs(tmp_path / "test", 2, rng)
    reader = open_image_folder(folder_spec(tmp_path), folder_spec(tmp_path))
    assert (reader.training_size(), reader.evaluation_size()) == (4, 2)
    write_png(tmp_path / "test" / "masks" / "lonely.png", np.zeros((4, 4), np.uint8))
    with pytest.raises(DataError, match="lonely.png: a mask with no image"):
        open_image_folder(folder_spec(tmp_path), folder_spec(tmp_path)).evaluation_size()


def test_a_mask_of_another_size_is_named(tmp_path):
    write_pairs(tmp_path, 3, np.random.default_rng(2))
    write_png(tmp_path / "masks" / "img00.png", np.zeros((10, 10), np.uint8))
    with pytest.raises(DataError, match="img00.png: mask is 10x10 but its image is 56x40"):
        reader = open_image_folder(folder_spec(tmp_path, train_test_split=0.5), folder_spec(tmp_path))
        reader.training_size(), reader.evaluation_size()


@pytest.mark.parametrize("augmentation", [
    AugmentationSpec(),
    AugmentationSpec(vertical_flip=True, rotations="all", brightness=0.3, brightness_probability=1.0, contrast=0.5),
])
def test_augmentation_moves_image_and_mask_together_and_clips_to_the_range(tmp_path, augmentation):
    # The image is its own mask (0 or 255), so after any geometric change they must still agree.
    rng = np.random.default_rng(3)
    (tmp_path / "images").mkdir()
    (tmp_path / "masks").mkdir()
    for index in range(6):
        mask = (rng.random((32, 32)) > 0.7).astype(np.uint8) * 255
        write_png(tmp_path / "images" / f"{index}.png", mask)
        write_png(tmp_path / "masks" / f"{index}.png", mask)
    spec = folder_spec(tmp_path, normalize_data_method="zero_centered", train_batch_size=6)
    samples = [Sample(tmp_path / "images" / f"{i}.png", tmp_path / "masks" / f"{i}.png") for i in range(6)]
    stream = pipeline.training_stream(samples, spec, seed=1, augmentation=augmentation, mask_threshold=128.0)
    changed = 0
    for images, masks in stream.take(4):
        images, masks = images.numpy(), masks.numpy()
        assert images.min() >= -1.0 and images.max() <= 1.0
        np.testing.assert_array_equal(masks > 0.5, images > images.mean(axis=(1, 2, 3), keepdims=True))
        changed += 1
    assert changed == 4


def test_augmentation_defaults_follow_the_reference():
    spec = AugmentationSpec()
    assert spec.quarter_turns(square=True) == (0, 1, 2) and spec.quarter_turns(square=False) == (0, 2)
    assert spec.brightness_for("SeverstalDataset") == 0.2 and spec.brightness_for("DAGM2007Dataset") == 0.0
    assert AugmentationSpec(rotations="all").quarter_turns(square=True) == (0, 1, 2, 3)


def test_tiff_and_bmp_images_are_read_like_png(tmp_path):
    import imageio.v3 as iio

    rng = np.random.default_rng(8)
    pixels = rng.integers(0, 256, (32, 32), dtype=np.uint8)
    for name in ("train", "test"):
        (tmp_path / name / "images").mkdir(parents=True)
        (tmp_path / name / "masks").mkdir()
        iio.imwrite(tmp_path / name / "images" / "a.tif", pixels)
        iio.imwrite(tmp_path / name / "images" / "b.bmp", pixels)
        write_png(tmp_path / name / "images" / "c.png", pixels)
        write_png(tmp_path / name / "masks" / "a.png", (pixels > 128).astype(np.uint8) * 255)
    spec = folder_spec(tmp_path, normalize_data_method="zero_one")
    images, masks = next(iter(open_image_folder(spec, spec).evaluation_stream()))
    for image in images.numpy():
        np.testing.assert_allclose(image[..., 0], pixels / 255.0, atol=1e-6)
    np.testing.assert_array_equal(masks.numpy()[0, ..., 0], (pixels > 128).astype(np.float32))


def augmented_and_plain(tmp_path, augmentation, batches=6):
    """Batches of the same images in the same order, through `augmentation` and with
    augmentation off (shuffle off, so the n-th element is the same image on both sides)."""
    rng = np.random.default_rng(5)
    (tmp_path / "images").mkdir(exist_ok=True)
    (tmp_path / "masks").mkdir(exist_ok=True)
    for index in range(4):
        write_png(tmp_path / "images" / f"{index}.png", rng.integers(30, 200, (32, 32), dtype=np.uint8))
        mask = np.zeros((32, 32), np.uint8)
        mask[2:9, 3:20] = 255  # off-centre, so that any flip or turn moves it
        write_png(tmp_path / "masks" / f"{index}.png", mask)
    samples = [Sample(tmp_path / "images" / f"{i}.png", tmp_path / "masks" / f"{i}.png") for i in range(4)]
    on = folder_spec(tmp_path, normalize_data_method="zero_one", train_batch_size=4, shuffle=False)
    off = folder_spec(tmp_path, normalize_data_method="zero_one", train_batch_size=4, shuffle=False,
                      augment_data=False)

    def take(spec):
        stream = pipeline.training_stream(samples, spec, seed=1, augmentation=augmentation, mask_threshold=128.0)
        return [(images.numpy(), masks.numpy()) for images, masks in stream.take(batches)]

    return take(on), take(off)


def test_with_augmentation_off_a_batch_is_the_unaugmented_one(tmp_path):
    import imageio.v3 as iio

    augmented, plain = augmented_and_plain(tmp_path, AugmentationSpec())  # flips and turns, unless off
    files = [iio.imread(tmp_path / "images" / f"{index}.png") / 255.0 for index in range(4)]
    masks = [iio.imread(tmp_path / "masks" / f"{index}.png") > 127 for index in range(4)]
    for images_off, masks_off in (batch for batch in plain):
        for position in range(4):
            np.testing.assert_allclose(images_off[position, ..., 0], files[position], atol=1e-6)
            np.testing.assert_array_equal(masks_off[position, ..., 0] > 0.5, masks[position])
    assert any(not np.array_equal(a[0], b[0]) for a, b in zip(augmented, plain))  # on, the defaults change pixels


def test_a_flip_only_setting_mirrors_image_and_mask_or_leaves_both(tmp_path):
    augmented, plain = augmented_and_plain(tmp_path, AugmentationSpec(horizontal_flip=True, rotations="none"))
    flipped = kept = 0
    for (images, masks), (images_off, masks_off) in zip(augmented, plain):
        for image, mask, image_off, mask_off in zip(images, masks, images_off, masks_off):
            if np.array_equal(image, image_off):
                np.testing.assert_array_equal(mask, mask_off)
                kept += 1
            else:
                np.testing.assert_array_equal(image, image_off[:, ::-1])
                np.testing.assert_array_equal(mask, mask_off[:, ::-1])
                flipped += 1
    assert flipped and kept  # about half and half over 24 draws


def test_a_brightness_only_setting_shifts_pixels_and_moves_nothing(tmp_path):
    augmentation = AugmentationSpec(horizontal_flip=False, rotations="none", brightness=0.2,
                                    brightness_probability=1.0)
    augmented, plain = augmented_and_plain(tmp_path, augmentation)
    for (images, masks), (images_off, masks_off) in zip(augmented, plain):
        np.testing.assert_allclose(images, np.clip(images_off + 0.2, 0.0, 1.0), atol=1e-6)  # 0.2 of the range
        np.testing.assert_array_equal(masks, masks_off)


def test_an_image_smaller_than_the_crop_is_mirror_padded_never_refused(tmp_path):
    (tmp_path / "images").mkdir()
    (tmp_path / "masks").mkdir()
    pixels = np.arange(20 * 12, dtype=np.uint8).reshape(20, 12)  # every value once: where each comes from shows
    mask = np.zeros((20, 12), np.uint8)
    mask[18:, 10:] = 255  # a defect in the bottom-right corner, mirrored into the padding
    write_png(tmp_path / "images" / "small.png", pixels)
    write_png(tmp_path / "masks" / "small.png", mask)
    spec = folder_spec(tmp_path, image_shape=[32, 32, 1], image_fit="crop", augment_data=False, train_batch_size=1)
    samples = [Sample(tmp_path / "images" / "small.png", tmp_path / "masks" / "small.png")]
    images, masks = next(iter(pipeline.training_stream(samples, spec, seed=0, mask_threshold=128.0)))
    image, crop_mask = images.numpy()[0, ..., 0], masks.numpy()[0, ..., 0]
    assert image.shape == (32, 32)
    padded = np.pad(pixels, ((0, 20), (0, 20)), mode="symmetric")[:32, :32]  # what mirroring gives
    np.testing.assert_array_equal(image, padded)
    np.testing.assert_array_equal(crop_mask > 0.5, np.pad(mask, ((0, 20), (0, 20)), mode="symmetric")[:32, :32] > 0)


def defect_share(tmp_path, sampling: float, draws: int = 480) -> float:
    """The share of 16x16 training crops that hold the one defect pixel of 96x96 images."""
    (tmp_path / "images").mkdir(exist_ok=True)
    (tmp_path / "masks").mkdir(exist_ok=True)
    rng = np.random.default_rng(1)
    samples = []
    for index in range(6):
        mask = np.zeros((96, 96), np.uint8)
        if index % 2 == 0:  # half the images are defect-free
            mask[rng.integers(0, 96), rng.integers(0, 96)] = 255
        write_png(tmp_path / "images" / f"{index}.png", rng.integers(0, 256, (96, 96), dtype=np.uint8))
        write_png(tmp_path / "masks" / f"{index}.png", mask)
        samples.append(Sample(tmp_path / "images" / f"{index}.png", tmp_path / "masks" / f"{index}.png"))
    spec = folder_spec(tmp_path, image_shape=[16, 16, 1], image_fit="crop", train_batch_size=16,
                       defect_sampling=sampling)
    stream = pipeline.training_stream(samples, spec, seed=3, mask_threshold=128.0)
    hits = [bool(mask.max() > 0.5) for _, masks in stream.take(draws // 16) for mask in masks.numpy()]
    return sum(hits) / len(hits)


@pytest.mark.parametrize("sampling", [0.0, 0.5, 0.9])
def test_defect_sampling_draws_its_share_of_crops_around_a_defect(tmp_path, sampling):
    # A uniform crop of a 96x96 image holds a given pixel about (16/96)^2 = 2.8 % of the time, and
    # half the images have none: about 1.4 % of uniform draws hold a defect.
    expected = sampling + (1 - sampling) * 0.014
    assert defect_share(tmp_path, sampling) == pytest.approx(expected, abs=0.07)


def test_defect_sampling_by_type_draws_a_rare_type_as_often_as_a_common_one(tmp_path):
    """Six defective images of a common type (gray 50), one of a rare type (gray 200): every crop
    is centred on a defect; by type, half of them come from the rare image, by image a seventh."""
    (tmp_path / "images").mkdir()
    (tmp_path / "masks").mkdir()
    samples, groups = [], []
    for index in range(7):
        rare = index == 6
        mask = np.zeros((32, 32), np.uint8)
        mask[10:12, 10:12] = 255
        write_png(tmp_path / "images" / f"{index}.png", np.full((32, 32), 200 if rare else 50, np.uint8))
        write_png(tmp_path / "masks" / f"{index}.png", mask)
        samples.append(Sample(tmp_path / "images" / f"{index}.png", tmp_path / "masks" / f"{index}.png"))
        groups.append(1 if rare else 0)
    spec = folder_spec(tmp_path, image_shape=[16, 16, 1], image_fit="crop", train_batch_size=16, defect_sampling=1.0,
                       augment_data=False, normalize_data_method="zero_centered")

    def rare_share(by_group):
        stream = pipeline.training_stream(samples, spec, seed=2, mask_threshold=128.0,
                                          groups=groups if by_group else None)
        means = [image.mean() for images, _ in stream.take(20) for image in images.numpy()]
        return np.mean(np.asarray(means) > 0)  # gray 200 is above 0 after zero-centring, gray 50 below

    assert rare_share(by_group=True) == pytest.approx(0.5, abs=0.1)
    assert rare_share(by_group=False) == pytest.approx(1 / 7, abs=0.08)
