"""Label Studio's brush masks: its RLE (thi.ng's rle-pack) decoded to a boolean mask.

The ints are the bytes of a big-endian bit stream. Its header: 32 bits, the number of values
N (the image's RGBA values, H * W * 4, row by row); 5 bits, the word size - 1; 4 x 4 bits, the
sizes - 1 of the four run-length fields. Then runs until N values: 1 bit, repeat (1) or
literal (0); 2 bits, which run-length field; that field, the count - 1; then one word
repeated `count` times, or `count` words. The mask is the alpha channel (every 4th value from
index 3); a nonzero alpha is a defect pixel.

A malformed stream raises ValueError with the reason, never a silently wrong mask.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

CHANNELS = 4  # Label Studio encodes the mask as RGBA


class _Bits:
    """Reads fields of up to 32 bits from a big-endian bit stream."""

    def __init__(self, data: bytes) -> None:
        self.data = data + bytes(5)  # a field of 32 bits at any bit offset spans at most 5 bytes
        self.size = 8 * len(data)
        self.at = 0

    def read(self, bits: int, what: str) -> int:
        end = self.at + bits
        if end > self.size:
            raise ValueError(f"the stream ends within {what} (bit {self.at} of {self.size})")
        start = self.at >> 3
        chunk = int.from_bytes(self.data[start:start + 5], "big")
        value = (chunk >> (40 - (end - 8 * start))) & ((1 << bits) - 1)
        self.at = end
        return value

    def words(self, count: int, bits: int, what: str) -> np.ndarray:
        """`count` words of `bits` bits each, read at once."""
        end = self.at + count * bits
        if end > self.size:
            raise ValueError(f"the stream ends within {what} (bit {self.at} of {self.size})")
        first, last = self.at >> 3, (end + 7) >> 3
        stream = np.unpackbits(np.frombuffer(self.data, dtype=np.uint8, count=last - first, offset=first))
        offset = self.at - 8 * first
        fields = stream[offset:offset + count * bits].reshape(count, bits).astype(np.uint64)
        self.at = end
        return fields @ (np.uint64(1) << np.arange(bits - 1, -1, -1, dtype=np.uint64))


def _bytes(rle: Sequence[int]) -> bytes:
    try:
        return bytes(rle)
    except (TypeError, ValueError):
        raise ValueError("the RLE must be a list of byte values (integers 0 to 255)") from None


def decode_values(rle: Sequence[int]) -> np.ndarray:
    """Every value of the stream, N of them (the smallest unsigned type that holds a word)."""
    bits = _Bits(_bytes(rle))
    total = bits.read(32, "the header")
    word = bits.read(5, "the header") + 1
    fields = [bits.read(4, "the header") + 1 for _ in range(4)]
    out = np.zeros(total, dtype=np.uint8 if word <= 8 else np.uint16 if word <= 16 else np.uint32)
    done = 0
    while done < total:  # a Python step per run; a literal run's words are read at once
        what = f"the run at value {done}"
        repeat = bits.read(1, what)
        count = bits.read(fields[bits.read(2, what)], what) + 1
        if done + count > total:
            raise ValueError(f"{what} ({count} values) overruns the {total} values")
        if repeat:
            out[done:done + count] = bits.read(word, what)
        elif count == 1:
            out[done] = bits.read(word, what)
        else:
            out[done:done + count] = bits.words(count, word, what)
        done += count
    return out


def decode(rle: Sequence[int], height: int, width: int) -> np.ndarray:
    """The (height, width) boolean mask of a brush RLE: its nonzero alpha values."""
    data = _bytes(rle)
    if len(data) < 4:
        raise ValueError(f"the stream ends within its header ({8 * len(data)} of 32 bits)")
    total, expected = int.from_bytes(data[:4], "big"), height * width * CHANNELS
    if total != expected:  # checked before decoding: a wrong size is the likely fault, and cheap to name
        raise ValueError(f"it holds {total} values, not the {expected} of a {width}x{height} RGBA image")
    return (decode_values(data)[CHANNELS - 1::CHANNELS] != 0).reshape(height, width)
