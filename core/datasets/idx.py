"""Reader for IDX files, the format of MNIST and Fashion-MNIST (plain or gzip-compressed).

Layout: two zero bytes, a type code, the number of dimensions, then one big-endian uint32
per dimension and the values (big-endian). Every way a file can be wrong (bad magic,
unknown type, truncated or oversized body, broken gzip) raises DatasetCorrupt naming the
file, because a half-read array would otherwise train a model on garbage.
"""

from __future__ import annotations

import gzip
import zlib
from pathlib import Path

import numpy as np

from core.datasets.errors import DatasetCorrupt, DatasetMissing

GZIP_MAGIC = b"\x1f\x8b"

#: IDX type code -> numpy dtype (big-endian, as stored).
IDX_TYPES: dict[int, np.dtype] = {
    0x08: np.dtype(np.uint8),
    0x09: np.dtype(np.int8),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_MAX_DIMS = 8


def read_idx_bytes(path: Path) -> bytes:
    """The file's IDX bytes, decompressed if it is gzip (recognised by content, not name)."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise DatasetMissing(f"IDX file {path} does not exist") from None
    if not raw.startswith(GZIP_MAGIC):
        return raw
    try:
        return gzip.decompress(raw)
    except (EOFError, OSError, zlib.error) as exc:
        raise DatasetCorrupt(f"{path} is not a readable gzip file ({exc})") from None


def parse_idx(data: bytes, *, source: str) -> np.ndarray:
    """Decode IDX bytes into a native-endian array; ``source`` names the data in errors."""
    if len(data) < 4 or data[0] != 0 or data[1] != 0:
        raise DatasetCorrupt(f"{source} is not an IDX file (bad magic number)")
    type_code, ndim = data[2], data[3]
    if type_code not in IDX_TYPES:
        raise DatasetCorrupt(f"{source}: unknown IDX type code 0x{type_code:02x}")
    if not 1 <= ndim <= _MAX_DIMS:
        raise DatasetCorrupt(f"{source}: IDX header says {ndim} dimensions")
    header_len = 4 + 4 * ndim
    if len(data) < header_len:
        raise DatasetCorrupt(f"{source}: truncated IDX header")
    shape = tuple(int(d) for d in np.frombuffer(data, dtype=">u4", count=ndim, offset=4))
    dtype = IDX_TYPES[type_code]
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    actual = len(data) - header_len
    if actual != expected:
        what = "truncated" if actual < expected else "has trailing bytes"
        raise DatasetCorrupt(
            f"{source}: {what}: header shape {shape} needs {expected} bytes of data, found {actual}"
        )
    array = np.frombuffer(data, dtype=dtype, offset=header_len).reshape(shape)
    return array.astype(dtype.newbyteorder("="), copy=False)


def read_idx(path: Path) -> np.ndarray:
    """Read an IDX file (plain or .gz) into a numpy array."""
    return parse_idx(read_idx_bytes(path), source=str(path))
