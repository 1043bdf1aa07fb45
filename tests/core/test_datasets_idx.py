"""The IDX reader on real bytes written here: round trips and every kind of broken file."""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import numpy as np
import pytest

from core.datasets import DatasetCorrupt, DatasetMissing, read_idx

TYPE_CODES = {np.dtype(np.uint8): 0x08, np.dtype(">i4"): 0x0C, np.dtype(">f4"): 0x0D}


def idx_bytes(array: np.ndarray, big_endian_dtype: str) -> bytes:
    dtype = np.dtype(big_endian_dtype)
    header = bytes([0, 0, TYPE_CODES[dtype], array.ndim])
    header += b"".join(struct.pack(">I", d) for d in array.shape)
    return header + array.astype(dtype).tobytes()


@pytest.mark.parametrize("compress", [False, True], ids=["plain", "gzip"])
@pytest.mark.parametrize(
    ("array", "stored"),
    [
        (np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4), "u1"),
        (np.array([-5, 0, 70000], dtype=np.int32), ">i4"),
        (np.array([[1.5, -2.25], [0.0, 3.0]], dtype=np.float32), ">f4"),
    ],
)
def test_round_trip(tmp_path: Path, array: np.ndarray, stored: str, compress: bool) -> None:
    data = idx_bytes(array, stored)
    path = tmp_path / "a.idx"
    path.write_bytes(gzip.compress(data) if compress else data)
    decoded = read_idx(path)
    assert decoded.shape == array.shape
    assert decoded.dtype.isnative
    np.testing.assert_array_equal(decoded, array)


GOOD = idx_bytes(np.zeros((2, 2), dtype=np.uint8), "u1")


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"\x01\x00" + GOOD[2:], "bad magic"),
        (b"", "bad magic"),
        (GOOD[:2] + b"\x07" + GOOD[3:], "unknown IDX type code 0x07"),
        (GOOD[:3] + b"\x00" + GOOD[4:], "0 dimensions"),
        (GOOD[:6], "truncated IDX header"),
        (GOOD[:-1], "truncated: header shape (2, 2) needs 4 bytes of data, found 3"),
        (GOOD + b"\x00", "has trailing bytes"),
        (gzip.compress(GOOD)[:-6], "not a readable gzip file"),
    ],
    ids=["magic", "empty", "type", "ndim", "header", "short", "long", "gzip"],
)
def test_broken_files_are_refused_naming_the_file(
    tmp_path: Path, data: bytes, expected: str
) -> None:
    path = tmp_path / "broken-idx1-ubyte"
    path.write_bytes(data)
    with pytest.raises(DatasetCorrupt) as info:
        read_idx(path)
    assert expected in info.value.message
    assert str(path) in info.value.message


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(DatasetMissing, match="does not exist"):
        read_idx(tmp_path / "nothing-here")
