import numpy as np
import pytest

from core.manifest import InputSpec
from service.codecs import V2_DATATYPES, decode_v2_input
from service.errors import InvalidInput, PayloadTooLarge

VALUES = [[0, 1], [5, -5], [2, 3]]


@pytest.mark.parametrize("datatype", ["FP32", "FP64", "INT32", "INT64"])
def test_every_datatype_as_json_and_bytes(xor_spec: InputSpec, datatype: str) -> None:
    expected = np.array(VALUES, dtype=np.float32)
    raw = np.array(VALUES, dtype=V2_DATATYPES[datatype]).tobytes()
    from_json = decode_v2_input(datatype, [3, 2], VALUES, xor_spec, max_batch=8)
    from_bytes = decode_v2_input(datatype, [3, 2], raw, xor_spec, max_batch=8)
    np.testing.assert_array_equal(from_json, expected)
    np.testing.assert_array_equal(from_bytes, expected)
    assert from_bytes.dtype == np.float32
    assert from_bytes.flags.c_contiguous


def test_uint8_images_flat_json_and_bytes(mnist_spec: InputSpec) -> None:
    images = np.random.default_rng(3).integers(0, 256, size=(2, 28, 28)).astype(np.uint8)
    flat = images.ravel().tolist()
    out = decode_v2_input("UINT8", [2, 784], flat, mnist_spec, max_batch=8)
    raw = decode_v2_input("UINT8", [2, 28, 28], images.tobytes(), mnist_spec, max_batch=8)
    np.testing.assert_array_equal(out, images)
    np.testing.assert_array_equal(raw, images)


def test_little_endian_bytes_are_read_as_such(xor_spec: InputSpec) -> None:
    raw = np.array([[1.5, -2.0]], dtype="<f4").tobytes()
    np.testing.assert_array_equal(
        decode_v2_input("FP32", [1, 2], raw, xor_spec, max_batch=8), [[1.5, -2.0]]
    )


@pytest.mark.parametrize("datatype", ["BYTES", "BOOL", "FP16", "fp32", 7])
def test_unsupported_datatypes_list_the_supported(xor_spec: InputSpec, datatype: object) -> None:
    with pytest.raises(InvalidInput, match="use one of FP32, FP64, UINT8, INT32, INT64"):
        decode_v2_input(datatype, [1, 2], [0, 0], xor_spec, max_batch=8)  # type: ignore[arg-type]


def test_element_count_must_match_the_shape(xor_spec: InputSpec) -> None:
    with pytest.raises(InvalidInput, match="data has 4 elements; the shape needs 6"):
        decode_v2_input("FP32", [3, 2], [0, 0, 0, 0], xor_spec, max_batch=8)
    with pytest.raises(InvalidInput, match=r"binary data has 12 bytes; .* needs 24"):
        decode_v2_input("FP32", [3, 2], bytes(12), xor_spec, max_batch=8)


@pytest.mark.parametrize("shape", [[2], [1, 3], [1, 2, 1], [1, 1, 2]])
def test_shape_must_fit_the_model(xor_spec: InputSpec, shape: list[int]) -> None:
    with pytest.raises(InvalidInput, match=r"does not match the model input: expected \[N, 2\]"):
        decode_v2_input("FP32", shape, [0] * int(np.prod(shape)), xor_spec, max_batch=8)


@pytest.mark.parametrize("shape", [[], [1, -2], [1, 2.0], "1,2", [True, 2]])
def test_malformed_shapes(xor_spec: InputSpec, shape: object) -> None:
    with pytest.raises(InvalidInput, match="shape must be a non-empty list of non-negative"):
        decode_v2_input("FP32", shape, [0, 0], xor_spec, max_batch=8)  # type: ignore[arg-type]


def test_batch_limits(xor_spec: InputSpec) -> None:
    with pytest.raises(InvalidInput, match="empty batch"):
        decode_v2_input("FP32", [0, 2], [], xor_spec, max_batch=8)
    with pytest.raises(PayloadTooLarge, match="batch of 9 instances exceeds the limit of 8"):
        decode_v2_input("FP32", [9, 2], [0] * 18, xor_spec, max_batch=8)


def test_json_data_errors(xor_spec: InputSpec) -> None:
    with pytest.raises(InvalidInput, match=r"data\[1\]\[0\] is a string"):
        decode_v2_input("FP32", [2, 2], [[0, 0], ["1", 0]], xor_spec, max_batch=8)
    with pytest.raises(InvalidInput, match="ragged"):
        decode_v2_input("FP32", [2, 2], [[0, 0], [1]], xor_spec, max_batch=8)
    with pytest.raises(InvalidInput, match="INT32 but data holds non-integer"):
        decode_v2_input("INT32", [1, 2], [0.5, 1], xor_spec, max_batch=8)
    with pytest.raises(InvalidInput, match="outside the range of UINT8"):
        decode_v2_input("UINT8", [1, 2], [0, 256], xor_spec, max_batch=8)
    with pytest.raises(InvalidInput, match="data must be a list of numbers or binary data"):
        decode_v2_input("FP32", [1, 2], "0 0", xor_spec, max_batch=8)  # type: ignore[arg-type]


def test_values_are_validated_like_every_other_input(xor_spec: InputSpec) -> None:
    raw = np.array([[0, 0], [np.inf, 0]], dtype="<f8").tobytes()
    with pytest.raises(InvalidInput, match=r"^instance 1 contains Inf$"):
        decode_v2_input("FP64", [2, 2], raw, xor_spec, max_batch=8)
    with pytest.raises(InvalidInput, match=r"instance 0 has values outside \[-5, 5\]"):
        decode_v2_input("INT64", [1, 2], [6, 0], xor_spec, max_batch=8)
