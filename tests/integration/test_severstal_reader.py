"""The Severstal reader on the real sample and on generated data; its in-graph RLE decoder."""

import shutil

import numpy as np
import pytest
import tensorflow as tf

from unet_defects.adapters.datasets.decoding import decode_rle
from unet_defects.adapters.datasets.severstal import open_severstal
from unet_defects.adapters.datasets.severstal_csv import read_train_csv
from unet_defects.adapters.datasets.synthetic_severstal import SyntheticSeverstalSpec, generate
from unet_defects.domain import rle
from unet_defects.domain.data import DataSpec
from unet_defects.domain.errors import ConfigError, DataError


def spec(root, **keys):
    values = {"dataset": "SeverstalDataset", "dataset_path": str(root), "class_id": 3, "image_shape": [64, 64, 1],
              "train_batch_size": 2, "eval_batch_size": 2, "train_test_split": 0.75, "seed": 1,
              "normalize_data_method": "zero_one", **keys}
    return DataSpec(**values)


@pytest.fixture(scope="module")
def synthetic_severstal(tmp_path_factory):
    root = tmp_path_factory.mktemp("severstal")
    generate(SyntheticSeverstalSpec(images=16, seed=2), root)
    return root


def test_the_in_graph_rle_decoder_equals_the_domain_codec_on_every_real_row(real_data):
    rows, _ = read_train_csv(real_data / "severstal" / "train.csv")
    for row in rows:
        decoded = decode_rle(tf.constant(row.encoded), tf.constant(256), tf.constant(1600)).numpy()[..., 0]
        np.testing.assert_array_equal(decoded.astype(bool), rle.decode(row.encoded))
    assert decode_rle(tf.constant(""), tf.constant(4), tf.constant(3)).numpy().sum() == 0


def test_real_severstal_class_3_split_by_image_and_masks_at_full_resolution(real_data):
    root = real_data / "severstal"
    rows = [r for r in read_train_csv(root / "train.csv")[0] if r.class_id == 3]
    train = spec(root, image_fit="crop", image_shape=[256, 256, 1])
    reader = open_severstal(train, train, stride=16)
    assert reader.training_size() + reader.evaluation_size() == len({r.image_id for r in rows})
    seen = []
    expected = {r.image_id: rle.decode(r.encoded) for r in rows}
    eval_ids = [s.image.name for s in reader.samples("eval")]
    assert not set(eval_ids) & {s.image.name for s in reader.samples("train")}
    for images, masks in reader.evaluation_stream():
        assert images.shape[1:] == (256, 1600, 1)
        seen += list(masks.numpy()[..., 0])
    for image_id, mask in zip(eval_ids, seen):
        np.testing.assert_array_equal(mask.astype(bool), expected[image_id])
    images, masks = next(iter(reader.training_stream()))
    assert images.shape == (2, 256, 256, 1) and masks.shape == (2, 256, 256, 1)
    assert set(np.unique(masks.numpy())) <= {0.0, 1.0}


def test_the_split_is_seeded_and_defect_free_images_join_on_request(synthetic_severstal):
    first = open_severstal(spec(synthetic_severstal), spec(synthetic_severstal))
    again = open_severstal(spec(synthetic_severstal), spec(synthetic_severstal))
    assert first.samples("eval") == again.samples("eval")
    other = open_severstal(spec(synthetic_severstal, seed=2), spec(synthetic_severstal, seed=2))
    with_free = open_severstal(spec(synthetic_severstal, include_defect_free=True),
                               spec(synthetic_severstal, include_defect_free=True))
    total = first.training_size() + first.evaluation_size()
    assert other.training_size() + other.evaluation_size() == total
    assert with_free.training_size() + with_free.evaluation_size() > total
    images, masks = next(iter(first.training_stream()))
    assert images.shape == (2, 64, 64, 1)


def test_bad_rows_are_named_or_skipped_and_counted(synthetic_severstal, tmp_path, caplog):
    root = tmp_path / "s"
    shutil.copytree(synthetic_severstal, root)
    lines = (root / "train.csv").read_text().splitlines()
    lines.insert(2, "missing00.jpg,3,1 5")
    lines.insert(3, "x.jpg,3,1 2 3")
    (root / "train.csv").write_text("\n".join(lines) + "\n")
    with pytest.raises(DataError, match=r"train.csv:4: x.jpg class 3: odd number"):
        open_severstal(spec(root), spec(root)).training_size()
    lines.pop(3)
    (root / "train.csv").write_text("\n".join(lines) + "\n")
    with pytest.raises(DataError, match=r"train.csv:3: missing00.jpg is listed but .* does not exist"):
        open_severstal(spec(root), spec(root)).training_size()
    lines.insert(3, "x.jpg,3,1 2 3")
    (root / "train.csv").write_text("\n".join(lines) + "\n")
    reader = open_severstal(spec(root, skip_bad_rows=True), spec(root, skip_bad_rows=True))
    assert reader.training_size() > 0
    assert "skipped 2 bad rows" in caplog.text
    with pytest.raises(ConfigError, match="class_id: SeverstalDataset needs a class in 1..4"):
        open_severstal(spec(root, class_id=5), spec(root, class_id=5)).training_size()


def test_a_truncated_jpeg_is_named(synthetic_severstal, tmp_path):
    root = tmp_path / "s"
    shutil.copytree(synthetic_severstal, root)
    victim = sorted((root / "train_images").iterdir())[0]
    victim.write_bytes(victim.read_bytes()[:200])
    with pytest.raises(DataError, match=victim.name):
        reader = open_severstal(spec(root, include_defect_free=True), spec(root, include_defect_free=True))
        reader.training_size(), reader.evaluation_size()


def test_an_image_of_another_size_than_its_runs_is_named(synthetic_severstal, tmp_path):
    import imageio.v3 as iio

    root = tmp_path / "s"
    shutil.copytree(synthetic_severstal, root)
    reader = open_severstal(spec(root), spec(root))
    victim = reader.samples("train")[0].image
    iio.imwrite(victim, np.zeros((256, 800, 3), np.uint8), quality=95)
    with pytest.raises(DataError, match=f"{victim.name}: is 800x256, but train.csv numbers the pixels "
                                        "of a 1600x256 image"):
        open_severstal(spec(root), spec(root)).training_size()
