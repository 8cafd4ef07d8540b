"""What `unet predict --input` takes (files, folders, globs, list files) and the pixel limit
checked from the header before a file is decoded."""

from __future__ import annotations

import imageio.v3 as iio
import numpy as np
import pytest

from unet_defects.adapters.image_files import FileImageSource
from unet_defects.adapters.images import read_gray
from unet_defects.domain.errors import DataError


@pytest.fixture
def parts(tmp_path):
    for folder in ("a", "b/deep"):
        (tmp_path / folder).mkdir(parents=True)
    for name in ("a/1.png", "a/2.PNG", "b/deep/3.png", "b/4.jpg"):
        iio.imwrite(tmp_path / name, np.full((6, 5), 9, np.uint8), extension=".png")
    (tmp_path / "a/notes.md").write_text("not an image")
    return tmp_path


def test_folders_globs_and_lists_name_each_file_once_in_the_order_given(parts):
    source = FileImageSource()
    assert source.list([str(parts / "a")]) == [str(parts / "a/1.png"), str(parts / "a/2.PNG")]
    assert source.list([str(parts / "**/*.png")]) == [str(parts / "a/1.png"), str(parts / "b/deep/3.png")]
    listing = parts / "b/todo.txt"
    listing.write_text("# tonight's parts\ndeep/3.png\n\n4.jpg\n" + str(parts / "a/1.png") + "\n")
    assert source.list([str(listing), str(parts / "a")]) == [
        str(parts / "b/deep/3.png"), str(parts / "b/4.jpg"), str(parts / "a/1.png"), str(parts / "a/2.PNG")]
    assert source.list([str(parts / "nothing-*.png")]) == []
    assert source.locate("a/1.png").startswith("/")
    with pytest.raises(DataError, match="no such file or directory"):
        source.list([str(parts / "missing")])


def test_an_image_past_the_limit_is_refused_from_its_header(parts, monkeypatch):
    huge = parts / "huge.png"
    iio.imwrite(huge, np.zeros((300, 400), np.uint8), extension=".png")
    with pytest.raises(DataError, match=r"huge.png: 300 x 400 = 120,000 pixels, more than --max_pixels 100,000"):
        read_gray(huge, max_pixels=100_000)
    assert read_gray(huge, max_pixels=120_000).shape == (300, 400)
    monkeypatch.setattr("imageio.v3.imread", lambda *a, **k: pytest.fail("decoded"))
    with pytest.raises(DataError, match="more than --max_pixels"):
        read_gray(huge, max_pixels=10)


def test_a_list_file_that_is_not_text_is_one_line(tmp_path):
    listing = tmp_path / "paths.txt"
    listing.write_bytes(b"\xff\xfe\x00bad")
    with pytest.raises(DataError, match="paths.txt: not a text file of image paths"):
        FileImageSource().list([str(listing)])


def test_a_palette_mask_is_read_as_its_indices_and_any_other_as_gray(tmp_path):
    from PIL import Image

    from unet_defects.adapters.image_headers import is_palette_png
    from unet_defects.adapters.images import read_mask

    indices = np.zeros((6, 5), np.uint8)
    indices[1, 1], indices[4, 3] = 1, 2
    picture = Image.fromarray(indices, mode="P")
    picture.putpalette([0, 0, 0, 200, 30, 30, 30, 200, 30] + [0] * (256 * 3 - 9))
    picture.save(tmp_path / "palette.png")
    assert is_palette_png((tmp_path / "palette.png").read_bytes()[:26])
    np.testing.assert_array_equal(read_mask(tmp_path / "palette.png"), indices)
    assert iio.imread(tmp_path / "palette.png").shape == (6, 5, 3)  # imageio gives the colours
    iio.imwrite(tmp_path / "gray.png", indices * 100, extension=".png")
    assert not is_palette_png((tmp_path / "gray.png").read_bytes()[:26])
    np.testing.assert_array_equal(read_mask(tmp_path / "gray.png"), indices * 100)
    with pytest.raises(DataError, match="missing.png: image file not found"):
        read_mask(tmp_path / "missing.png")
