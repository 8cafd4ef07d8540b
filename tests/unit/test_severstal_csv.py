import pytest

from unet_defects.adapters.datasets.severstal_csv import parse_train_csv, read_train_csv
from unet_defects.domain import rle
from unet_defects.domain.errors import DataError


def test_every_real_row_decodes_to_the_area_its_runs_sum_to(real_data):
    rows, problems = read_train_csv(real_data / "severstal" / "train.csv")
    assert len(rows) == 40 and problems == []
    assert sorted({r.class_id for r in rows}) == [2, 3, 4]
    for row in rows:
        assert rle.decode(row.encoded).sum() == rle.run_lengths_total(row.encoded)
    first = next(r for r in rows if r.image_id == "112b06482.jpg" and r.class_id == 3)
    assert rle.decode(first.encoded).sum() == 7529


def test_both_layouts_give_the_same_rows():
    new = "ImageId,ClassId,EncodedPixels\na.jpg,1,1 3\nb.jpg,4,10 2\n"
    old = "ImageId_ClassId,EncodedPixels\na.jpg_1,1 3\na.jpg_2,\na.jpg_3,\na.jpg_4,\nb.jpg_1,\nb.jpg_4,10 2\n"
    def take(text):
        return [(r.image_id, r.class_id, r.encoded) for r in parse_train_csv(text)[0]]
    assert take(new) == take(old) == [("a.jpg", 1, "1 3"), ("b.jpg", 4, "10 2")]


@pytest.mark.parametrize(
    "row, reason",
    [
        ("a.jpg,3,1 2 3", "train.csv:3: a.jpg class 3: odd number of values"),
        ("a.jpg,3,0 5", "train.csv:3: a.jpg class 3: run 1: start 0 < 1"),
        ("a.jpg,3,409600 2", "train.csv:3: a.jpg class 3: run 1: ends at pixel 409601"),
        ("a.jpg,3,10 5 12 1", "train.csv:3: a.jpg class 3: run 2: start 12 overlaps"),
        ("a.jpg,5,1 1", "train.csv:3: class '5' is not one of 1, 2, 3, 4"),
        ("a.jpg,3", "train.csv:3: expected 3 fields, got 2"),
    ],
)
def test_a_malformed_row_is_named_or_counted_when_skipping(row, reason):
    text = f"ImageId,ClassId,EncodedPixels\nok.jpg,1,1 1\n{row}\n"
    with pytest.raises(DataError) as caught:
        parse_train_csv(text, "train.csv")
    assert str(caught.value).startswith(reason)
    rows, problems = parse_train_csv(text, "train.csv", skip_bad_rows=True)
    assert [r.image_id for r in rows] == ["ok.jpg"] and len(problems) == 1


def test_an_unknown_header_is_refused():
    with pytest.raises(DataError, match="unknown header"):
        parse_train_csv("Image,Class,Pixels\n", "train.csv")
