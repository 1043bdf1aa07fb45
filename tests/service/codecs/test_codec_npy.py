import io
import pickle

import numpy as np
import pytest

from core.manifest import InputSpec
from service.codecs import decode_npy
from service.errors import InvalidInput, PayloadTooLarge
from tests.service.helpers import encode_npy


@pytest.mark.parametrize("dtype", ["uint8", "int16", "int32", "int64", "float16", "float32", ">f8"])
def test_any_real_numeric_dtype(mnist_spec: InputSpec, dtype: str) -> None:
    images = np.random.default_rng(1).integers(0, 256, size=(3, 28, 28)).astype(dtype)
    out = decode_npy(encode_npy(images), mnist_spec, max_batch=8)
    assert out.dtype == np.float32
    assert out.flags.c_contiguous
    np.testing.assert_array_equal(out, images.astype(np.float32))


def test_flat_and_fortran_order(mnist_spec: InputSpec) -> None:
    images = np.random.default_rng(2).integers(0, 256, size=(4, 28, 28)).astype(np.uint8)
    flat = decode_npy(encode_npy(images.reshape(4, 784)), mnist_spec, max_batch=8)
    fortran = decode_npy(encode_npy(np.asfortranarray(images)), mnist_spec, max_batch=8)
    np.testing.assert_array_equal(flat, images)
    np.testing.assert_array_equal(fortran, images)


def test_object_arrays_are_refused_without_unpickling(xor_spec: InputSpec) -> None:
    buffer = io.BytesIO()
    np.save(buffer, np.array([[1, "x"]], dtype=object), allow_pickle=True)
    with pytest.raises(InvalidInput, match="object arrays"):
        decode_npy(buffer.getvalue(), xor_spec, max_batch=8)


def test_a_pickle_is_not_an_npy(xor_spec: InputSpec) -> None:
    with pytest.raises(InvalidInput, match=r"not an \.npy file"):
        decode_npy(pickle.dumps(np.zeros((1, 2))), xor_spec, max_batch=8)


def test_npz_archive_is_refused(xor_spec: InputSpec) -> None:
    buffer = io.BytesIO()
    np.savez(buffer, x=np.zeros((1, 2)))
    with pytest.raises(InvalidInput, match="npz archive"):
        decode_npy(buffer.getvalue(), xor_spec, max_batch=8)


@pytest.mark.parametrize("array", [np.zeros((2, 3)), np.zeros((2,)), np.zeros((2, 2, 1))])
def test_wrong_shapes(xor_spec: InputSpec, array: np.ndarray) -> None:
    with pytest.raises(InvalidInput, match=r"does not match the model input: expected \[N, 2\]"):
        decode_npy(encode_npy(array), xor_spec, max_batch=8)


@pytest.mark.parametrize("array", [np.zeros((1, 2), bool), np.zeros((1, 2), complex)])
def test_non_real_dtypes(xor_spec: InputSpec, array: np.ndarray) -> None:
    with pytest.raises(InvalidInput, match=r"dtype .* is not accepted"):
        decode_npy(encode_npy(array), xor_spec, max_batch=8)


def test_truncated_data(mnist_spec: InputSpec) -> None:
    body = encode_npy(np.zeros((2, 784), np.float32))
    with pytest.raises(InvalidInput, match=r"\.npy data has 6267 bytes; .* needs 6272"):
        decode_npy(body[:-5], mnist_spec, max_batch=8)


def test_header_claiming_a_huge_array_costs_nothing(mnist_spec: InputSpec) -> None:
    body = encode_npy(np.zeros((1, 784), np.uint8)).replace(b"(1, 784)", b"(9999999, 784)", 1)
    with pytest.raises(PayloadTooLarge, match="batch of 9999999 instances"):
        decode_npy(body, mnist_spec, max_batch=8)


def test_truncated_header(xor_spec: InputSpec) -> None:
    with pytest.raises(InvalidInput, match="header is corrupt or truncated"):
        decode_npy(encode_npy(np.zeros((1, 2)))[:20], xor_spec, max_batch=8)


def test_empty_and_too_large_batches(xor_spec: InputSpec) -> None:
    with pytest.raises(InvalidInput, match="empty batch"):
        decode_npy(encode_npy(np.zeros((0, 2))), xor_spec, max_batch=8)
    with pytest.raises(PayloadTooLarge, match="limit of 8"):
        decode_npy(encode_npy(np.zeros((9, 2))), xor_spec, max_batch=8)


def test_nan_and_range(xor_spec: InputSpec) -> None:
    with pytest.raises(InvalidInput, match=r"^instance 1 contains NaN$"):
        decode_npy(encode_npy(np.array([[0, 0], [np.nan, 0]])), xor_spec, max_batch=8)
    with pytest.raises(InvalidInput, match=r"instance 0 has values outside \[-5, 5\]"):
        decode_npy(encode_npy(np.array([[9, 0]], np.int8)), xor_spec, max_batch=8)
