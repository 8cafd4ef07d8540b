"""TFRecords: a lossless, compact writer and readers of both record formats.

This project's records hold one image at its own size (`image_bytes`: the source file's own
bytes when TensorFlow decodes that format, PNG otherwise), its mask as
a 0/255 PNG (`mask_png`, empty for a defect-free image), and `name`; reading them goes
through the same fit, normalization and augmentation as reading the files. The reference's
records hold `image` and `mask` as float lists, already resized and normalized; the reader
tells them apart by the first record's features.

Layout: `<dir>/train/train-NNN.tfrecords`, `<dir>/test/test-NNN.tfrecords` and
`<dir>/manifest.json` (counts, shapes, normalization, source config).
"""

from __future__ import annotations

import io
import json
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from unet_defects.adapters.datasets.file_reader import only_eval
from unet_defects.adapters.datasets.splits import dataset_root
from unet_defects.adapters.images import tf_decodable
from unet_defects.adapters.tensorflow.cluster import read_tf_config
from unet_defects.domain import rle
from unet_defects.domain.augmentation import AugmentationSpec
from unet_defects.domain.data import DataSpec
from unet_defects.domain.errors import ConfigError, DataError
from unet_defects.domain.masks import binarize_mask

SPLIT_FOLDERS = {"train": "train", "eval": "test"}
MANIFEST = "manifest.json"
OWN_FORMAT, REFERENCE_FORMAT = "png", "reference"


def _png(array: np.ndarray) -> bytes:
    import imageio.v3 as iio

    buffer = io.BytesIO()
    iio.imwrite(buffer, array, extension=".png")
    return buffer.getvalue()


def encode_sample(sample, mask_threshold: float | None = None) -> bytes:
    """One tf.train.Example (serialized) of a file sample: image and 0/255 mask as PNG."""
    import tensorflow as tf

    from unet_defects.adapters.images import read_gray, read_mask

    image = read_gray(sample.image)
    # The file itself when TensorFlow decodes it (byte-exact, and decoded exactly as the file
    # pipeline decodes it); otherwise (TIFF) its gray pixels as PNG.
    image_bytes = Path(sample.image).read_bytes() if tf_decodable(sample.image) else _png(image)
    if sample.mask is not None:
        mask = binarize_mask(read_mask(sample.mask), mask_threshold)
    elif sample.runs[0]:
        mask = rle.decode(sample.runs[0], image.shape)
    else:
        mask = None
    features = {
        "image_bytes": tf.train.Feature(bytes_list=tf.train.BytesList(value=[image_bytes])),
        "mask_png": tf.train.Feature(bytes_list=tf.train.BytesList(
            value=[_png(np.where(mask, 255, 0).astype(np.uint8)) if mask is not None else b""])),
        "name": tf.train.Feature(bytes_list=tf.train.BytesList(value=[Path(sample.image).name.encode()])),
    }
    return tf.train.Example(features=tf.train.Features(feature=features)).SerializeToString()


def write_split(samples: Sequence, folder: Path, prefix: str, images_per_file: int,
                mask_threshold: float | None = None, progress: Callable[[int, int], None] | None = None) -> list[str]:
    """Shards of `images_per_file` records; each is written under a temporary name and renamed,
    so an interrupted run never leaves a shard that looks complete."""
    import tensorflow as tf

    folder.mkdir(parents=True, exist_ok=True)
    written: list[str] = []
    done = 0
    with ThreadPoolExecutor(max_workers=4) as pool:
        for index, start in enumerate(range(0, len(samples), images_per_file)):
            chunk = samples[start : start + images_per_file]
            final = folder / f"{prefix}-{index:03d}.tfrecords"
            temporary = folder / f".{final.name}.tmp"
            with tf.io.TFRecordWriter(str(temporary)) as writer:
                for record in pool.map(lambda s: encode_sample(s, mask_threshold), chunk):
                    writer.write(record)
            os.replace(temporary, final)
            written.append(str(final))
            done += len(chunk)
            if progress:
                progress(done, len(samples))
    return written


def write_manifest(directory: Path, counts: dict[str, int], spec: DataSpec, source: dict) -> str:
    payload = {"format": OWN_FORMAT, "counts": counts, "image_shape": list(spec.image_shape),
               "normalization": spec.normalize_data_method, "source": source}
    path = directory / MANIFEST
    temporary = path.with_name(f".{MANIFEST}.tmp")
    temporary.write_text(json.dumps(payload, indent=2) + "\n")
    os.replace(temporary, path)
    return str(path)


def shard_files(files: list[str], use_multiple_workers: bool) -> list[str]:
    """With use_multiple_workers, this worker's share of the files (TF_CONFIG task index)."""
    if not use_multiple_workers:
        return files
    place = read_tf_config("train_input.use_multiple_workers")
    workers, index = place.workers, place.index
    if len(files) < workers:
        raise DataError(f"{Path(files[0]).parent}: {len(files)} files cannot be shared by {workers} workers; "
                        "write more, smaller files (--images_per_file)")
    return files[index::workers]


class TfRecordsWriter:
    """The RecordWriter port: shards of records and a manifest under one directory."""

    def __init__(self, mask_threshold: float | None = None) -> None:
        self._mask_threshold = mask_threshold

    def write_split(self, samples: Sequence, directory: str, split: str, images_per_file: int,
                    progress: Callable[[int, int], None] | None = None) -> list[str]:
        folder = SPLIT_FOLDERS[split]
        return write_split(samples, Path(directory) / folder, folder, images_per_file, self._mask_threshold, progress)

    def write_manifest(self, directory: str, counts: dict[str, int], spec: DataSpec, source: dict) -> str:
        return write_manifest(Path(directory), counts, spec, source)


class TfRecordsReader:
    """DAGM2007TFRecordsDataset, SeverstalTFRecordsDataset and TFRecordsDataset."""

    def __init__(self, name: str, train: DataSpec, evaluation: DataSpec, seed: int | None = None,
                 augmentation: AugmentationSpec | None = None, mask_method: str = "bilinear",
                 stride: int = 1) -> None:
        self._name = name
        self._root = dataset_root(train)
        self._train = train
        self._eval = evaluation
        self._seed = train.split_seed(seed)
        self._augmentation = augmentation
        self._mask_method = mask_method
        self._stride = stride
        self._counts: dict[str, int] = {}

    def name(self) -> str:
        return self._name

    def files(self, split: str) -> list[str]:
        folder = self._root / SPLIT_FOLDERS[split]
        files = sorted(str(p) for p in folder.glob("*.tfrecords")) if folder.is_dir() else []
        if not files:
            raise DataError(f"{folder}: no .tfrecords files (write them with unet write-tfrecords)")
        return files

    def record_format(self, split: str) -> str:
        import tensorflow as tf

        first = self.files(split)[0]
        try:
            record = next(iter(tf.data.TFRecordDataset(first).take(1)), None)
        except tf.errors.OpError as error:
            raise DataError(f"{first}: not a readable TFRecords file ({error.message.splitlines()[0]})") from None
        if record is None:
            raise DataError(f"{first}: holds no records")
        features = tf.train.Example.FromString(record.numpy()).features.feature
        if "image_bytes" in features:
            return OWN_FORMAT
        if "image" in features and "mask" in features:
            return REFERENCE_FORMAT
        raise DataError(f"{first}: records hold {sorted(features)}; expected image_bytes/mask_png or image/mask")

    def _count(self, split: str) -> int:
        if split not in self._counts:
            manifest = self._root / MANIFEST
            try:
                self._counts[split] = json.loads(manifest.read_text())["counts"][split]
            except (OSError, ValueError, KeyError):
                import tensorflow as tf

                total = tf.data.TFRecordDataset(self.files(split)).reduce(np.int64(0), lambda n, _: n + 1)
                self._counts[split] = int(total)
            if self._counts[split] == 0:
                raise DataError(f"{self._root / SPLIT_FOLDERS[split]}: holds no records")
        return self._counts[split]

    def training_size(self) -> int:
        return self._count("train")

    def evaluation_size(self) -> int:
        return self._count("eval")

    def _prepared(self, split: str, spec: DataSpec, training: bool):
        import tensorflow as tf

        from unet_defects.adapters.datasets import pipeline

        files = shard_files(self.files(split), spec.use_multiple_workers)
        names = tf.data.Dataset.from_tensor_slices(files)
        if training and spec.shuffle:
            names = names.shuffle(len(files), seed=self._seed or 0, reshuffle_each_iteration=True)
        records = names.interleave(tf.data.TFRecordDataset, cycle_length=min(len(files), spec.num_parallel_reads),
                                   num_parallel_calls=pipeline.AUTOTUNE, deterministic=True)
        parse = (self._parse_own(spec, training) if self.record_format(split) == OWN_FORMAT
                 else self._parse_reference(spec))
        if spec.use_multiple_workers:  # this worker already holds only its files
            options = tf.data.Options()
            options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.OFF
            records = records.with_options(options)
        # Deterministic order even when training, so that tf_random_seed repeats a run.
        return records.map(parse, num_parallel_calls=pipeline.AUTOTUNE, deterministic=True)

    def _parse_own(self, spec: DataSpec, training: bool):
        import tensorflow as tf

        from unet_defects.adapters.datasets import decoding, pipeline

        crop = spec.image_fit == "crop"
        fitted = pipeline.fit(spec, resize=not crop, mask_method=self._mask_method)
        keys = {"image_bytes": tf.io.FixedLenFeature([], tf.string), "mask_png": tf.io.FixedLenFeature([], tf.string)}

        def parse(record):
            example = tf.io.parse_single_example(record, keys)
            image = decoding.decode_bytes(example["image_bytes"], spec.channels)
            shape = tf.shape(image)
            mask = tf.cond(tf.strings.length(example["mask_png"]) > 0,
                           lambda: tf.cast(tf.io.decode_png(example["mask_png"], channels=1), tf.float32) / 255.0,
                           lambda: tf.zeros([shape[0], shape[1], 1], tf.float32))
            return fitted(image, mask)

        return parse

    def _parse_reference(self, spec: DataSpec):
        """The reference's float lists, already resized to image_shape and normalized."""
        import tensorflow as tf

        if spec.image_fit == "crop":
            raise ConfigError("train_input.image_fit: crop needs this project's records; the reference's hold "
                              "resized images (rewrite them with unet write-tfrecords)")
        height, width, channels = spec.image_shape
        keys = {"image": tf.io.FixedLenFeature([height * width * channels], tf.float32),
                "mask": tf.io.FixedLenFeature([height * width], tf.float32)}

        def parse(record):
            example = tf.io.parse_single_example(record, keys)
            return (tf.reshape(example["image"], [height, width, channels]),
                    tf.reshape(example["mask"], [height, width, 1]))

        return parse

    def training_stream(self):
        from unet_defects.adapters.datasets import pipeline

        prepared = self._prepared("train", self._train, training=True)
        return pipeline.training_batches(prepared, self.training_size(), self._train, self._seed,
                                         self._augmentation)

    def evaluation_names(self, split: str = "eval") -> list[str]:
        """None: the records keep no file names."""
        return []

    def evaluation_stream(self, split: str = "eval"):
        from unet_defects.adapters.datasets import pipeline

        only_eval(split, "TFRecords")
        # Record sizes are not known before reading: whole images go one per batch.
        return pipeline.evaluation_batches(self._prepared("eval", self._eval, training=False), self._eval,
                                           self._stride, one_size=self._eval.image_fit != "crop")
