from pathlib import Path

import pytest

from unet_defects.adapters.datasets.dagm_labels import format_labels, parse_labels, read_labels
from unet_defects.domain.errors import DataError

REAL = Path(__file__).resolve().parents[3] / "shared" / "realdata"
needs_real_data = pytest.mark.skipif(not REAL.is_dir(), reason="../shared/realdata is absent")

# Rows per file and defective rows, as the dataset's documentation counts them.
EXPECTED = {
    ("Class1", "Train"): (575, 79), ("Class1", "Test"): (575, 71),
    ("Class2", "Train"): (575, 66), ("Class2", "Test"): (575, 84),
    ("Class3", "Train"): (575, 66), ("Class3", "Test"): (575, 84),
    ("Class4", "Train"): (575, 82), ("Class4", "Test"): (575, 68),
    ("Class5", "Train"): (575, 70), ("Class5", "Test"): (575, 80),
    ("Class6", "Train"): (575, 83), ("Class6", "Test"): (575, 67),
    **{(f"Class{n}", split): (1150, 150) for n in range(7, 11) for split in ("Train", "Test")},
}


@needs_real_data
@pytest.mark.parametrize("class_name, split", sorted(EXPECTED))
def test_every_original_labels_file_parses(class_name, split):
    path = REAL / "dagm_labels_full" / class_name / split / "Label" / "Labels.txt"
    rows = read_labels(path)
    assert (len(rows), sum(r.defective for r in rows)) == EXPECTED[(class_name, split)]
    for row in rows:
        assert row.image_file == f"{row.image_id}.PNG"
        assert row.mask_file == (f"{row.image_id}_label.PNG" if row.defective else None)
    # Writing the rows back gives the original bytes: CRLF, header `1`, trailing tabs.
    assert format_labels([(r.image_id, r.defective) for r in rows]) == path.read_bytes()


def test_clean_and_defective_rows_with_header_and_crlf():
    text = "1\r\n0593\t0\t0593.PNG\t0\t0\t\r\n0595\t1\t0595.PNG\t0\t0595_label.PNG\r\n"
    clean, defective = parse_labels(text)
    assert (clean.image_id, clean.defective, clean.mask_file, clean.line) == ("0593", False, None, 2)
    assert (defective.defective, defective.mask_file, defective.line) == (True, "0595_label.PNG", 3)


@pytest.mark.parametrize(
    "row, reason",
    [
        ("0001\t1\t0001.PNG\t0", "expected 5 tab-separated fields, got 4"),
        ("0001\t1\t0001.PNG\t0\t0001_label.PNG\textra", "expected 5 tab-separated fields, got 6"),
        ("0001\t2\t0001.PNG\t0\t0", "the defect flag must be 0 or 1"),
        ("0001\t1\t0001.PNG\t0\t0", "flagged defective but names no label file"),
        ("0001\t0\t0001.PNG\t0\t0001_label.PNG", "flagged clean but names label file"),
    ],
)
def test_malformed_rows_name_file_and_line(row, reason):
    with pytest.raises(DataError) as caught:
        parse_labels(f"1\r\n0000\t0\t0000.PNG\t0\t0\t\r\n{row}\r\n", "Class1/Train/Label/Labels.txt")
    assert str(caught.value).startswith("Class1/Train/Label/Labels.txt:3: ")
    assert reason in str(caught.value)


def test_duplicate_images_are_reported():
    with pytest.raises(DataError, match="listed twice"):
        parse_labels("1\r\n0001\t0\t0001.PNG\t0\t0\t\r\n0001\t0\t0001.PNG\t0\t0\t\r\n")
