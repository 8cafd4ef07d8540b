"""The image files `unet predict` takes: files, folders (not recursive), globs, and text files
listing paths; decoded in parallel by the project's reader (`images.read_gray`)."""

from __future__ import annotations

import glob
import os
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np

from unet_defects.adapters.images import IMAGE_SUFFIXES, list_images, read_gray
from unet_defects.domain.errors import DataError

LIST_SUFFIXES = (".txt", ".lst")  # a text file of paths, one per line
_GLOB_CHARACTERS = frozenset("*?[")


def listed_paths(listing: Path) -> list[Path]:
    """The paths a list file names, one per line (blank lines and `#` comments skipped);
    relative ones are taken from the list's own folder, so a list travels with its images."""
    try:
        lines = listing.read_text(encoding="utf-8-sig").splitlines()
    except UnicodeDecodeError:
        raise DataError(f"{listing}: not a text file of image paths (not UTF-8)") from None
    paths = [line.strip() for line in lines]
    return [listing.parent / path for path in paths if path and not path.startswith("#")]


def input_paths(item: str) -> list[Path]:
    """One --input: a folder's images, a glob's matching images, a list file's paths, or a file."""
    path = Path(item)
    if not path.exists() and _GLOB_CHARACTERS & set(item):
        return [Path(match) for match in sorted(glob.glob(item, recursive=True))
                if Path(match).is_file() and match.lower().endswith(IMAGE_SUFFIXES)]
    if path.is_file() and path.suffix.lower() in LIST_SUFFIXES:
        return listed_paths(path)
    return list_images(path)


class FileImageSource:
    """Image files named directly, found in folders, matched by globs or listed in text files."""

    def list(self, inputs: Sequence[str]) -> list[str]:
        """Every image once, named as given, in the order given."""
        files: dict[str, None] = {}
        for item in inputs:
            files.update((str(path), None) for path in input_paths(item))
        return list(files)

    def locate(self, name: str) -> str:
        return os.path.abspath(name)

    def stream(self, names: Sequence[str], max_pixels: int | None = None,
               parallel: int = 4) -> Iterator[tuple[str, np.ndarray | None, str]]:
        """(name, image, "") per file in order, or (name, None, error line) for one that cannot
        be read or declares more than `max_pixels`. Files are decoded by a tf.data map with
        `parallel` readers at once."""
        import tensorflow as tf

        def decode(name: bytes) -> tuple[np.ndarray, bytes]:
            try:
                return read_gray(name.decode(), max_pixels), b""
            except DataError as error:
                return np.zeros((0, 0), np.uint8), str(error).encode()

        def load(name):
            image, error = tf.numpy_function(decode, [name], (tf.uint8, tf.string), stateful=False)
            return name, image, error

        dataset = (tf.data.Dataset.from_tensor_slices(list(names))
                   .map(load, num_parallel_calls=parallel, deterministic=True).prefetch(parallel))
        for name, image, error in dataset.as_numpy_iterator():
            yield name.decode(), (None if error else image), error.decode()
