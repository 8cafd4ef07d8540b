"""TFRecords: written from each file dataset, read back equal to the files; the reference's format."""

import json

import numpy as np
import pytest
import tensorflow as tf

from tests.conftest import tiny_params
from unet_defects.adapters.datasets.synthetic_severstal import SyntheticSeverstalSpec, generate
from unet_defects.adapters.datasets.tfrecords import TfRecordsReader, shard_files
from unet_defects.container import build_container
from unet_defects.domain.data import DataSpec
from unet_defects.domain.errors import DataError


def arrays(stream):
    images, masks = zip(*[(i.numpy(), m.numpy()) for i, m in stream])
    return np.concatenate(images), np.concatenate(masks)


def records_params(params, directory, dataset):
    converted = json.loads(json.dumps(params))
    converted["train_input"].update({"dataset": dataset, "dataset_path": str(directory)})
    return converted


def test_dagm_records_read_back_to_the_arrays_of_the_files(tiny_dagm, tmp_path):
    params = tiny_params(tiny_dagm, tmp_path / "m")
    source = build_container(params)
    report = source.write_records().execute(str(tmp_path / "records"), images_per_file=5)
    assert report.counts == {"train": 12, "eval": 5}
    assert sorted(p.name for p in (tmp_path / "records" / "train").iterdir()) == [
        "train-000.tfrecords", "train-001.tfrecords", "train-002.tfrecords"]
    assert [p.name for p in (tmp_path / "records" / "test").iterdir()] == ["test-000.tfrecords"]
    manifest = json.loads((tmp_path / "records" / "manifest.json").read_text())
    assert manifest["counts"] == {"train": 12, "eval": 5} and manifest["source"]["train_input"]["class_id"] == 1
    reader = build_container(records_params(params, tmp_path / "records", "DAGM2007TFRecordsDataset")).dataset()
    assert (reader.training_size(), reader.evaluation_size()) == (12, 5)
    from_files, from_records = arrays(source.dataset().evaluation_stream()), arrays(reader.evaluation_stream())
    for expected, found in zip(from_files, from_records):
        np.testing.assert_array_equal(found, expected)
    images, masks = next(iter(reader.training_stream()))
    assert images.shape == (4, 32, 32, 1) and masks.shape == (4, 32, 32, 1)


def test_the_reference_float_records_are_detected_and_read(tiny_dagm, tmp_path):
    params = tiny_params(tiny_dagm, tmp_path / "m")
    images, masks = arrays(build_container(params).dataset().evaluation_stream())
    folder = tmp_path / "reference" / "test"
    folder.mkdir(parents=True)
    with tf.io.TFRecordWriter(str(folder / "test-000.tfrecords")) as writer:
        for image, mask in zip(images, masks):
            feature = {"image": tf.train.Feature(float_list=tf.train.FloatList(value=image.ravel())),
                       "mask": tf.train.Feature(float_list=tf.train.FloatList(value=mask.ravel()))}
            writer.write(tf.train.Example(features=tf.train.Features(feature=feature)).SerializeToString())
    (tmp_path / "reference" / "train").mkdir()
    (tmp_path / "reference" / "train" / "train-000.tfrecords").write_bytes((folder / "test-000.tfrecords").read_bytes())
    spec = DataSpec(**{**records_params(params, tmp_path / "reference", "DAGM2007TFRecordsDataset")["train_input"]})
    reader = TfRecordsReader("DAGM2007TFRecordsDataset", spec, spec)
    assert reader.record_format("eval") == "reference" and reader.evaluation_size() == 5
    found_images, found_masks = arrays(reader.evaluation_stream())
    np.testing.assert_array_equal(found_images, images)
    np.testing.assert_array_equal(found_masks, masks)


def test_severstal_records_keep_full_resolution_masks(tmp_path):
    data = tmp_path / "severstal"
    generate(SyntheticSeverstalSpec(images=8, defect_free_fraction=0.0, seed=5), data)
    train_input = {"dataset": "SeverstalDataset", "dataset_path": str(data), "class_id": 3,
                   "image_shape": [256, 256, 1], "image_fit": "crop", "include_defect_free": True,
                   "train_batch_size": 2, "eval_batch_size": 2, "train_test_split": 0.5, "seed": 1}
    params = {"train_input": train_input, "model": {"encoder_filters": [4, 8], "decoder_filters": [4]},
              "runconfig": {"model_dir": str(tmp_path / "m")}}
    source = build_container(params)
    source.write_records().execute(str(tmp_path / "records"), images_per_file=3)
    reader = build_container(records_params(params, tmp_path / "records", "SeverstalTFRecordsDataset")).dataset()
    for expected, found in zip(arrays(source.dataset().evaluation_stream()), arrays(reader.evaluation_stream())):
        assert found.shape[1:3] == (256, 1600)
        np.testing.assert_array_equal(found, expected)


def test_no_shards_half_written_and_files_shared_by_workers(tmp_path, monkeypatch):
    spec = DataSpec(dataset="TFRecordsDataset", dataset_path=str(tmp_path), image_shape=[32, 32, 1])
    (tmp_path / "train").mkdir()
    (tmp_path / "train" / ".train-000.tfrecords.tmp").write_bytes(b"partial")
    with pytest.raises(DataError, match="no .tfrecords files"):
        TfRecordsReader("TFRecordsDataset", spec, spec).training_size()
    files = [f"f{i}" for i in range(5)]
    cluster = {"cluster": {"worker": ["a:1", "b:2"]}, "task": {"type": "worker", "index": 1}}
    monkeypatch.setenv("TF_CONFIG", json.dumps(cluster))
    assert shard_files(files, True) == ["f1", "f3"] and shard_files(files, False) == files
