"""One Open Inference Protocol (KServe V2) input tensor.

``data`` is the JSON tensor body (flat or nested, row-major) or, with the binary-data
extension, the raw little-endian bytes. The declared shape is checked against the model
and the element count before any data is converted.
"""

from __future__ import annotations

import math

import numpy as np

from core.manifest import InputSpec
from service.codecs.jsonlist import describe_json, first_non_number, nested_shape, numbers_array
from service.codecs.validate import check_batch_size, check_tensor_shape, conform
from service.errors import InvalidInput

V2_DATATYPES: dict[str, np.dtype] = {
    "FP32": np.dtype("<f4"),
    "FP64": np.dtype("<f8"),
    "UINT8": np.dtype("u1"),
    "INT32": np.dtype("<i4"),
    "INT64": np.dtype("<i8"),
}


def _dtype(datatype: object) -> np.dtype:
    dtype = V2_DATATYPES.get(datatype) if isinstance(datatype, str) else None
    if dtype is None:
        raise InvalidInput(
            f"datatype {datatype!r} is not supported; use one of {', '.join(V2_DATATYPES)}"
        )
    return dtype


def _shape(shape: object) -> tuple[int, ...]:
    ok = isinstance(shape, list | tuple) and all(type(d) is int and d >= 0 for d in shape)
    if not ok or not shape:
        raise InvalidInput(
            f"shape must be a non-empty list of non-negative integers, got {shape!r}"
        )
    return tuple(shape)


def _from_json(data: list[object], datatype: str, dtype: np.dtype, count: int) -> np.ndarray:
    values = numbers_array(data)
    if values is None:
        found = first_non_number(data)
        if found is not None:
            path, value = found
            raise InvalidInput(f"data{path} is {describe_json(value)}; only numbers are accepted")
        if nested_shape(data) is None:
            raise InvalidInput("data is a ragged nested list")
        raise InvalidInput("data holds a value too large to be a number")
    values = values.ravel()
    if values.size != count:
        raise InvalidInput(f"data has {values.size} elements; the shape needs {count}")
    if dtype.kind in "iu":
        if not np.isfinite(values).all() or (values != np.round(values)).any():
            raise InvalidInput(f"datatype {datatype} but data holds non-integer values")
        info = np.iinfo(dtype)
        if values.min() < info.min or values.max() > info.max:
            raise InvalidInput(f"data holds values outside the range of {datatype}")
    with np.errstate(over="ignore"):
        return values.astype(dtype)


def decode_v2_input(
    datatype: str,
    shape: list[int],
    data: list | bytes,
    spec: InputSpec,
    *,
    max_batch: int,
) -> np.ndarray:
    """A V2 tensor ``[N, *spec.shape]`` or ``[N, size]`` -> float32 ``(N, *spec.shape)``."""
    dtype = _dtype(datatype)
    dims = _shape(shape)
    check_batch_size(dims[0], max_batch)
    check_tensor_shape(dims, spec)
    count = math.prod(dims)
    if isinstance(data, bytes | bytearray | memoryview):
        needed = count * dtype.itemsize
        if len(data) != needed:
            raise InvalidInput(
                f"binary data has {len(data)} bytes; shape {list(dims)} of {datatype} "
                f"needs {needed}"
            )
        flat = np.frombuffer(data, dtype=dtype, count=count)
    elif isinstance(data, list):
        flat = _from_json(data, datatype, dtype, count)
    else:
        raise InvalidInput(
            f"data must be a list of numbers or binary data, got {describe_json(data)}"
        )
    return conform(flat.reshape(dims), spec)
