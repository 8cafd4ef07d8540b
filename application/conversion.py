"""Use case: convert a dataset the config names into TFRecords shards and a manifest."""

from __future__ import annotations

from collections.abc import Callable

import attrs

from unet_defects.application.ports import RecordWriter, SampleSource
from unet_defects.domain.data import DataSpec
from unet_defects.domain.errors import ConfigError
from unet_defects.domain.layouts import FILE_LAYOUTS


@attrs.frozen
class ConversionReport:
    directory: str
    counts: dict[str, int]
    files: tuple[str, ...]


class WriteRecordsUseCase:
    """`samples` is None when the configured dataset is not read from image files."""

    def __init__(self, samples: SampleSource | None, writer: RecordWriter, data: DataSpec, source: dict) -> None:
        self._samples = samples
        self._writer = writer
        self._data = data
        self._source = source

    def execute(self, directory: str, images_per_file: int = 256,
                progress: Callable[[str, int, int], None] | None = None) -> ConversionReport:
        if images_per_file < 1:
            raise ConfigError(f"--images_per_file: must be >= 1, got {images_per_file}")
        if self._samples is None:
            *others, last = FILE_LAYOUTS
            raise ConfigError(f"train_input.dataset: {self._data.dataset} is not read from image files; "
                              f"convert {', '.join(others)} or {last}")
        if self._data.image_labels_only or self._data.masked_fraction < 1.0:
            key = "image_labels_only" if self._data.image_labels_only else "masked_fraction"
            raise ConfigError(f"train_input.{key}: records hold a mask per image, not a part with its label only; "
                              "train from the image files")
        files: list[str] = []
        counts: dict[str, int] = {}
        for split in ("train", "eval"):
            samples = self._samples.samples(split)
            counts[split] = len(samples)
            report = (lambda done, total, split=split: progress(split, done, total)) if progress else None
            files += self._writer.write_split(samples, directory, split, images_per_file, report)
        files.append(self._writer.write_manifest(directory, counts, self._data, self._source))
        return ConversionReport(directory, counts, tuple(files))
