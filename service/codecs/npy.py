"""``application/x-npy``: one NumPy array, as written by ``np.save``.

The header is read and checked (dtype, shape, batch size, byte count) before any array
is made, so a header that claims a huge shape costs nothing, and pickles are never
unpickled: object dtypes are refused from the header alone.
"""

from __future__ import annotations

import io

import numpy as np

from core.manifest import InputSpec
from service.codecs.validate import check_batch_size, check_tensor_shape, conform
from service.errors import InvalidInput

NPY_MAGIC = b"\x93NUMPY"
#: Larger headers are not something np.save writes for a plain array.
MAX_HEADER_BYTES = 10_000


def _read_header(body: bytes) -> tuple[tuple[int, ...], bool, np.dtype, int]:
    if not body.startswith(NPY_MAGIC):
        if body.startswith(b"PK"):
            raise InvalidInput("an .npz archive is not accepted; send one array saved with np.save")
        raise InvalidInput("body is not an .npy file (it must start with the NumPy magic string)")
    stream = io.BytesIO(body)
    try:
        version = np.lib.format.read_magic(stream)
        if version == (1, 0):
            header = np.lib.format.read_array_header_1_0(stream, max_header_size=MAX_HEADER_BYTES)
        elif version == (2, 0):
            header = np.lib.format.read_array_header_2_0(stream, max_header_size=MAX_HEADER_BYTES)
        else:
            raise InvalidInput(f".npy format version {version[0]}.{version[1]} is not supported")
    except InvalidInput:
        raise
    except Exception as error:  # numpy parses the header with Python's tokenizer: any error
        if "pickle" in str(error).lower() or "object" in str(error).lower():
            raise InvalidInput("object arrays (pickles) are not accepted in .npy") from None
        raise InvalidInput("the .npy header is corrupt or truncated") from None
    shape, fortran_order, dtype = header
    return shape, fortran_order, dtype, stream.tell()


def decode_npy(body: bytes, spec: InputSpec, *, max_batch: int) -> np.ndarray:
    """An ``.npy`` batch ``(N, *spec.shape)`` or ``(N, size)`` of real numbers -> float32."""
    shape, fortran_order, dtype, offset = _read_header(body)
    if dtype.hasobject:
        raise InvalidInput("object arrays (pickles) are not accepted in .npy")
    if dtype.kind not in "iuf" or dtype.fields is not None:
        raise InvalidInput(
            f".npy dtype {dtype} is not accepted; send integers or floats (e.g. uint8, float32)"
        )
    if any(dim < 0 for dim in shape):
        raise InvalidInput(f"the .npy header's shape {list(shape)} has a negative dimension")
    # the shape first: a single instance of 784 values is a missing batch axis, not a
    # batch of 784
    check_tensor_shape(shape, spec)
    check_batch_size(shape[0], max_batch)
    count = int(np.prod(shape))
    needed = count * dtype.itemsize
    if len(body) - offset != needed:
        raise InvalidInput(
            f".npy data has {len(body) - offset} bytes; the header's shape {list(shape)} "
            f"of {dtype} needs {needed}"
        )
    flat = np.frombuffer(body, dtype=dtype, count=count, offset=offset)
    array = flat.reshape(shape, order="F" if fortran_order else "C")
    return conform(array, spec)
