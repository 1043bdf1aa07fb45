"""Properties over many generated inputs: the codecs agree, and bad input is only ever 4xx."""

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from PIL import Image

from service.codecs import (
    decode_images,
    decode_json_instances,
    decode_npy,
    decode_v2_input,
)
from service.errors import BadRequest, LayerlensError
from tests.service.helpers import encode_image, encode_npy
from training.inputs import INPUTS

DIGITS8 = INPUTS["sklearn-digits"]


FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

batches = arrays(
    np.float32,
    st.tuples(st.integers(1, 5), st.just(8), st.just(8)),
    elements=st.floats(0, 16, width=32),
)


@FAST
@given(batch=batches)
def test_every_codec_decodes_the_same_batch_identically(batch: np.ndarray) -> None:
    n = len(batch)
    expected = batch.astype(np.float32)
    results = [
        decode_json_instances(batch.tolist(), DIGITS8, max_batch=8),
        decode_json_instances(batch.reshape(n, 64).tolist(), DIGITS8, max_batch=8),
        decode_npy(encode_npy(batch), DIGITS8, max_batch=8),
        decode_v2_input("FP32", [n, 64], batch.ravel().tolist(), DIGITS8, max_batch=8),
        decode_v2_input("FP32", [n, 8, 8], batch.astype("<f4").tobytes(), DIGITS8, max_batch=8),
    ]
    for result in results:
        assert result.shape == (n, 8, 8)
        assert result.dtype == np.float32 and result.flags.c_contiguous
        np.testing.assert_array_equal(result, expected)


@FAST
@given(batch=arrays(np.float64, (3, 64), elements=st.floats(0, 1)))
def test_unit_scale_is_the_linear_map_onto_the_range(batch: np.ndarray) -> None:
    out = decode_json_instances(batch.tolist(), DIGITS8, scale="unit", max_batch=8)
    np.testing.assert_allclose(out.reshape(3, 64), batch * 16, rtol=1e-6, atol=1e-5)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=3),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=2), inner),
    max_leaves=40,
)


@FAST
@given(instances=json_values)
def test_any_json_is_decoded_or_refused_with_a_4xx(instances: object) -> None:
    try:
        out = decode_json_instances(instances, DIGITS8, max_batch=8)
    except LayerlensError as error:
        assert 400 <= error.status_code < 500
        assert error.message
    else:
        assert out.shape[1:] == (8, 8)


def _png() -> bytes:
    return encode_image(Image.new("L", (20, 12), 255))


@FAST
@given(data=st.data())
def test_damaged_png_bytes_are_decoded_or_refused_with_a_4xx(data: st.DataObject) -> None:
    damaged = bytearray(_png())
    for _ in range(data.draw(st.integers(1, 6))):
        damaged[data.draw(st.integers(0, len(damaged) - 1))] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(1, len(damaged)))
    try:
        out = decode_images(
            [("f.png", bytes(damaged[:cut]))], DIGITS8, max_pixels=10**6, max_batch=1
        )
    except LayerlensError as error:
        assert 400 <= error.status_code < 500
    else:
        assert out.shape == (1, 8, 8)


@FAST
@given(body=st.binary(max_size=200))
def test_random_bytes_as_npy_are_refused_with_a_400(body: bytes) -> None:
    try:
        decode_npy(b"\x93NUMPY" + body, DIGITS8, max_batch=8)
    except LayerlensError as error:
        assert isinstance(error, BadRequest) or error.status_code == 413
