import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from unet_defects.domain.rle import decode, encode, run_lengths_total


def test_decode_is_one_based_and_column_major():
    # 3 rows x 2 columns: pixels 1..3 run down column 0, 4..6 down column 1.
    mask = decode("2 2 6 1", (3, 2))
    assert mask.tolist() == [[False, False], [True, False], [True, True]]
    assert encode(mask) == "2 2 6 1"
    assert decode("", (3, 2)).sum() == 0 and encode(np.zeros((3, 2), bool)) == ""


@settings(max_examples=200, deadline=None)
@given(arrays(bool, st.tuples(st.integers(1, 12), st.integers(1, 12))))
def test_round_trip(mask):
    encoded = encode(mask)
    np.testing.assert_array_equal(decode(encoded, mask.shape), mask)
    assert run_lengths_total(encoded) == mask.sum()


@pytest.mark.parametrize(
    "encoded, reason",
    [
        ("1 2 5", "odd number of values"),
        ("0 2", "start 0 < 1"),
        ("4 2 1 1", "overlaps or precedes"),
        ("1 3 2 1", "overlaps or precedes"),
        ("5 3", "past the 6 pixels of 3x2"),
        ("1 x", "'x' is not an integer"),
        ("1 0", "length 0 < 1"),
    ],
)
def test_malformed_strings_say_why(encoded, reason):
    with pytest.raises(ValueError, match=reason):
        decode(encoded, (3, 2))
