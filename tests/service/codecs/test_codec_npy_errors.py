""".npy errors name the real problem (issue 31): a missing batch axis is not a batch too
large, a negative or unparseable shape in the header is a 400, never a 500."""

from __future__ import annotations

import io

import numpy as np
import pytest

from core.manifest import InputSpec
from service.codecs import decode_npy
from service.errors import InvalidInput

_HEADER = "{{'descr': '<f4', 'fortran_order': False, 'shape': {shape}, }}"


def _npy(array: np.ndarray) -> bytes:
    out = io.BytesIO()
    np.save(out, array)
    return out.getvalue()


def _with_header(shape: str) -> bytes:
    text = _HEADER.format(shape=shape)
    text = text.ljust(-(-(len(text) + 11) // 64) * 64 - 11) + "\n"
    return b"\x93NUMPY\x01\x00" + len(text).to_bytes(2, "little") + text.encode("latin-1")


def test_one_instance_without_a_batch_axis_says_so(mnist_spec: InputSpec) -> None:
    with pytest.raises(InvalidInput, match=r"shape \[784\].*needs the batch axis"):
        decode_npy(_npy(np.zeros(784, np.float32)), mnist_spec, max_batch=100)


@pytest.mark.parametrize(
    ("shape", "message"),
    [
        ("(-1, 784)", "negative dimension"),
        ("(99999999999999999999999, 784", "corrupt or truncated"),
        ("(1, 784", "corrupt or truncated"),
    ],
)
def test_hostile_header_shapes_are_400s(mnist_spec: InputSpec, shape: str, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        decode_npy(_with_header(shape), mnist_spec, max_batch=100)
