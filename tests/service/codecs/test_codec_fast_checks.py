"""The one-pass JSON check (no booleans in the body) and conform's in-range shortcut give
exactly what the careful paths give, and every bad input still gets its precise message."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

from core.manifest import InputSpec
from service.codecs import decode_json_instances
from service.codecs.jsonlist import numbers_array
from service.codecs.validate import conform
from service.dataplane import Payload
from service.dataplane.payload import payload_from_body
from service.errors import InvalidInput

GOOD = [
    [[0, 255] * 392],
    [[[1.5] * 28] * 28, [[0] * 28] * 28],
    [[7] * 784, [[3.25] * 28] * 28],  # flat and nested mixed: the one-by-one path
]
BAD = [
    ([["1"] * 784], "a string"),
    ([[None] * 784], "null"),
    ([[{"a": 1}] * 784], "an object"),
    ([[[0] * 28] * 27 + [[0] * 5]], "expected"),
    ([[2**70] * 784], "outside [0, 255]"),
    ([[300] * 784], "outside [0, 255]"),
    ([[-1e300] * 784], "outside [0, 255]"),
]


@pytest.mark.parametrize("instances", GOOD)
def test_one_pass_check_decodes_like_the_type_scan(instances: list, mnist_spec: InputSpec) -> None:
    careful = decode_json_instances(instances, mnist_spec, max_batch=8)
    fast = decode_json_instances(instances, mnist_spec, max_batch=8, booleans=False)
    assert fast.dtype == careful.dtype == np.float32
    np.testing.assert_array_equal(fast, careful)


@pytest.mark.parametrize(("instances", "words"), BAD)
def test_one_pass_check_gives_the_same_errors(
    instances: list, words: str, mnist_spec: InputSpec
) -> None:
    messages = []
    for booleans in (True, False):
        with pytest.raises(InvalidInput) as caught:
            decode_json_instances(instances, mnist_spec, max_batch=8, booleans=booleans)
        messages.append(caught.value.message)
    assert messages[0] == messages[1]
    assert words in messages[0]


def test_numpy_check_refuses_what_is_not_a_number() -> None:
    assert numbers_array([[1, "2"]], check_types=False) is None
    assert numbers_array([[1, None]], check_types=False) is None
    assert numbers_array([[1, 2], [3]], check_types=False) is None
    assert numbers_array([[1, 2], [3, 4.5]], check_types=False).dtype == np.float64


def _payload(body: bytes) -> Payload | None:
    return asyncio.run(payload_from_body("application/json", body, max_bytes=2**30))


def test_body_scan_sends_booleans_the_careful_way(mnist_spec: InputSpec) -> None:
    plain = _payload(b'{"instances": [[1, 2]]}')
    mixed = _payload(b'{"instances": [[1, true]]}')
    assert plain is not None and mixed is not None
    assert (plain.json_booleans, mixed.json_booleans) == (False, True)
    body = b'{"instances": [[' + b"1, " * 783 + b"true]]}"
    payload = _payload(body)
    assert payload is not None
    with pytest.raises(InvalidInput, match="a boolean"):
        decode_json_instances(
            payload.json["instances"], mnist_spec, max_batch=8, booleans=payload.json_booleans
        )


@pytest.mark.parametrize("dtype", [np.uint8, np.int64, np.float32, np.float64])
def test_conform_shortcut_matches_clipping_path(dtype: type, mnist_spec: InputSpec) -> None:
    x = (np.arange(2 * 784) % 256).astype(dtype).reshape(2, 784)
    out = conform(x, mnist_spec)
    assert out.dtype == np.float32 and out.flags.c_contiguous and out.shape == (2, 28, 28)
    np.testing.assert_array_equal(out.reshape(2, -1), x.astype(np.float32))
    assert not np.shares_memory(out, x)
    edge = np.full((1, 784), 255.0 + 1e-3)  # inside the tolerance: clipped, not refused
    assert conform(edge, mnist_spec).max() == 255.0
    with pytest.raises(InvalidInput, match="NaN"):
        conform(np.full((1, 784), np.nan), mnist_spec)
