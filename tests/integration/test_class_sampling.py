"""train_input.defect_sampling_by: class. With several classes the defect-centred draws are
split equally among the classes, each centred on a pixel of its own class (nnU-Net's per-class
foreground oversampling); which classes an image holds comes from checking its files once; the
validation part is stratified by class too."""

import logging
import threading

import numpy as np
import pytest
import tensorflow as tf

from unet_defects.adapters.datasets import crops, pipeline
from unet_defects.adapters.datasets.file_reader import CheckedFile, check_readable
from unet_defects.adapters.datasets.image_folder import open_image_folder
from unet_defects.adapters.datasets.validation_part import validation_strata
from unet_defects.adapters.images import write_png
from unet_defects.domain import rle
from unet_defects.domain.data import DataSpec, Sample
from unet_defects.domain.errors import ConfigError
from unet_defects.domain.sampling import centred_origin

NAMES = ["crack", "hole", "stain"]
SIZE = 64


def class_of(index: int) -> int | None:
    """40 parts: a quarter good, `stain` (channel 2) in only two, the rest crack or hole."""
    if index in (5, 25):
        return 2
    if index % 4 == 0:
        return None
    return index % 2


def write_parts(folder, count=40, classes=class_of, seed=0):
    """images/ and masks/ of SIZE x SIZE parts, each defect a 2x2 block of its label value."""
    (folder / "images").mkdir(parents=True)
    (folder / "masks").mkdir()
    rng = np.random.default_rng(seed)
    for index in range(count):
        mask = np.zeros((SIZE, SIZE), np.uint8)
        channel = classes(index)
        if channel is not None:
            top, left = rng.integers(0, SIZE - 1, 2)
            mask[top:top + 2, left:left + 2] = channel + 1
        write_png(folder / "images" / f"part{index:02d}.png", rng.integers(0, 256, (SIZE, SIZE), dtype=np.uint8))
        write_png(folder / "masks" / f"part{index:02d}.png", mask)
    return folder


def spec_of(root, names=NAMES, **keys):
    values = {"dataset": "ImageFolderDataset", "dataset_path": str(root), "image_shape": [16, 16, 1],
              "image_fit": "crop", "train_batch_size": 16, "eval_batch_size": 4, "seed": 3, "augment_data": False,
              "defect_class_names": names, **keys}
    return DataSpec(**values)


@pytest.fixture(scope="module")
def parts(tmp_path_factory):
    """train/ (the 40 parts) and test/ (four more)."""
    root = tmp_path_factory.mktemp("classes")
    write_parts(root / "train")
    write_parts(root / "test", count=4, seed=1)
    return root


def crop_classes(reader, batches: int) -> np.ndarray:
    """(draws, K): which classes each training crop holds a pixel of."""
    masks = np.concatenate([m.numpy() for _, m in reader.training_stream().take(batches)])
    return masks.max(axis=(1, 2)) > 0.5


@pytest.mark.parametrize("cached", [True, False])
def test_each_class_gets_its_share_of_the_centred_draws(parts, cached, monkeypatch):
    # Uniform 16x16 crops of 64x64 parts hold a given 2x2 defect about (17/49)^2 = 12 % of the
    # time, and a class is in at most 14 of 40 parts: under 1.1 % of the draws beside the 0.25.
    # Not cached (images too many for the cache), the streams choose file names before decoding.
    if not cached:
        monkeypatch.setattr(pipeline, "CACHE_BUDGET", 0)
    spec = spec_of(parts, defect_sampling=0.75, defect_sampling_by="class")
    held = crop_classes(open_image_folder(spec, spec), 30)
    assert held.shape == (480, 3)
    np.testing.assert_allclose(held.mean(axis=0), [0.25, 0.25, 0.25], atol=0.06)
    by_image = spec_of(parts, defect_sampling=0.75)  # the rare class: 2 of the 30 defective parts
    assert crop_classes(open_image_folder(by_image, by_image), 30)[:, 2].mean() == pytest.approx(0.05, abs=0.04)


@pytest.mark.parametrize("cached", [True, False])
def test_class_draws_repeat_for_a_seed(parts, cached, monkeypatch):
    if not cached:
        monkeypatch.setattr(pipeline, "CACHE_BUDGET", 0)
    spec = spec_of(parts, defect_sampling=0.5, defect_sampling_by="class", augment_data=True)
    first, again = (np.concatenate([m.numpy() for _, m in open_image_folder(spec, spec).training_stream().take(4)])
                    for _ in range(2))
    np.testing.assert_array_equal(first, again)


def test_a_draw_for_a_class_is_centred_on_a_pixel_of_that_class():
    """The image numbers its pixels (y * W + x), so a crop's first pixel says where it starts:
    one of the origins centred_origin gives for that class's pixels, none other."""
    height, width = 30, 40
    spec = DataSpec(dataset="ImageFolderDataset", image_shape=[8, 8, 1], image_fit="crop", defect_class_names=NAMES)
    mask = np.zeros((height, width, 3), np.float32)
    mask[3:5, 30:33, 0] = 1.0  # crack, two of its pixels near nothing else
    mask[20:22, 5:7, 1] = 1.0
    mask[28:30, 38:40, 1] = 1.0  # a hole in the corner: the crop shifts inside the image
    mask[12, 18, 0] = mask[12, 18, 1] = 1.0  # a pixel of both
    stacked = tf.constant(np.concatenate([np.arange(height * width, dtype=np.float32).reshape(height, width, 1),
                                          mask], axis=-1))

    def origins(centre: int) -> set[tuple[int, int]]:
        found = set()
        for seed in range(40):
            cropped = crops.crop(stacked, spec, tf.constant([seed, 1], tf.int64), tf.constant(centre)).numpy()
            found.add(divmod(int(cropped[0, 0, 0]), width))
        return found

    def allowed(channels) -> set[tuple[int, int]]:
        pixels = zip(*np.nonzero(mask[..., channels].max(axis=-1) > 0.5))
        return {centred_origin((int(y), int(x)), (8, 8), (height, width)) for y, x in pixels}

    for channel in (0, 1):
        drawn = origins(channel)
        assert drawn <= allowed([channel]) and len(drawn) >= 3, channel
    assert (22, 32) in origins(1)  # the corner hole's crop, moved inside
    assert origins(3) <= allowed([0, 1, 2])  # K: a defect pixel of any class, as by image
    assert len(origins(2)) > 3  # no stain pixel: a uniform crop, not an error
    assert len(origins(crops.UNIFORM)) > 10


def test_the_validation_part_holds_every_class(parts):
    for seed in range(4):
        spec = spec_of(parts, validation_split=0.2, seed=seed)
        reader = open_image_folder(spec, spec)
        for split in ("validation", "train"):
            held = {channel for found in reader.checked(split) for channel in found.classes}
            assert held == {0, 1, 2}, (seed, split)


def test_strata_gain_the_rarest_class_only_with_several_classes():
    samples = [Sample(f"p{i}.png", None) for i in range(5)]
    checked = [CheckedFile((4, 4), True, (0, 2)), CheckedFile((4, 4), True, (0,)), CheckedFile((4, 4), False),
               CheckedFile((4, 4), True, (0, 1)), CheckedFile((4, 4), True, (1,))]
    assert validation_strata(samples, checked) == [(True, ""), (True, ""), (False, ""), (True, ""), (True, "")]
    # Counts: crack 3, hole 2, stain 1; a sample goes with its rarest class.
    assert [stratum[2] for stratum in validation_strata(samples, checked, classes=3)] == [2, 0, -1, 1, 1]


def test_checking_the_files_records_the_classes_a_sample_holds(tmp_path):
    write_parts(tmp_path / "labels", count=8)
    listed = [Sample(tmp_path / "labels" / "images" / f"part{i:02d}.png",
                     tmp_path / "labels" / "masks" / f"part{i:02d}.png") for i in range(8)]
    labelled = check_readable(listed, label_names=tuple(NAMES))
    assert [found.classes for found in labelled] == [() if class_of(i) is None else (class_of(i),) for i in range(8)]
    assert [found.defective for found in labelled] == [class_of(i) is not None for i in range(8)]
    binary = check_readable(listed[:2], binary_masks=False, mask_threshold=1.0)
    assert [found.classes for found in binary] == [(), (0,)]
    steel = tmp_path / "steel.png"
    write_png(steel, np.zeros(rle.SEVERSTAL_SHAPE, np.uint8))
    severstal = check_readable([Sample(steel, None, ("1 3", "", "9 2", "")), Sample(steel, None, ("", "", "", "")),
                                Sample(steel, None, "", label_only=True)])
    assert [(found.defective, found.classes) for found in severstal] == [(True, (0, 2)), (False, ()), (True, ())]


def test_a_class_no_training_image_holds_does_not_hang(tmp_path, caplog):
    write_parts(tmp_path / "train", count=12, classes=lambda i: None if i % 3 == 0 else i % 2)
    write_parts(tmp_path / "test", count=2, seed=1)
    spec = spec_of(tmp_path, defect_sampling=0.8, defect_sampling_by="class")
    drawn: list[np.ndarray] = []
    with caplog.at_level(logging.WARNING, logger="unet"):
        reader = open_image_folder(spec, spec)
        worker = threading.Thread(target=lambda: drawn.append(crop_classes(reader, 16)), daemon=True)
        worker.start()
        worker.join(timeout=60)
    assert not worker.is_alive(), "the draws hang on the class no image holds"
    assert "no training image holds stain" in caplog.text
    np.testing.assert_allclose(drawn[0].mean(axis=0), [0.4, 0.4, 0.0], atol=0.1)
    nothing = crops.with_defect_sampling_by_class(tf.data.Dataset.range(3).map(lambda i: (i, (i, i))), 1.0, 0,
                                                  [(), (), ()], 3, None)
    assert [int(draw[2]) for draw in nothing.take(4)] == [crops.UNIFORM] * 4  # no stream: uniform draws


def test_class_sampling_with_one_class_is_sampling_by_image(tmp_path):
    write_parts(tmp_path / "train", count=8, classes=lambda i: None if i % 2 else 0)
    write_parts(tmp_path / "test", count=2, seed=1)

    def crops_of(by):
        spec = spec_of(tmp_path, names=["crack"], defect_sampling=1.0, defect_sampling_by=by)
        return [np.concatenate(part) for part in zip(*open_image_folder(spec, spec).training_stream().take(2))]

    np.testing.assert_array_equal(crops_of("class"), crops_of("image"))
    with pytest.raises(ConfigError, match="defect_sampling_by"):
        spec_of(tmp_path, defect_sampling_by="classes")


def test_the_learning_curve_scores_a_stratified_sample_of_the_validation_part(parts):
    spec = spec_of(parts, validation_split=0.5, validation_sample=8)
    reader = open_image_folder(spec, spec)
    validation, curve = reader.samples("validation"), reader.samples("curve")
    assert len(validation) == 20 and 6 <= len(curve) <= 10 and set(curve) <= set(validation)
    kinds = {class_of(int(sample.image.stem[4:])) for sample in curve}
    assert {None, 0, 1, 2} <= kinds  # good parts, and every class: the rare stain too
    assert curve != sorted(curve, key=lambda sample: sample.image.name)  # a seeded order, mixed from the first
    assert open_image_folder(spec, spec).samples("curve") == curve  # the same sample every run
    whole = spec_of(parts, validation_split=0.5)
    assert open_image_folder(whole, whole).samples("curve") == validation  # none asked for: the whole part
    assert sum(1 for _ in reader.evaluation_stream("curve").unbatch()) == len(curve)
