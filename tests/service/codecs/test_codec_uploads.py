"""Uploads read from memory: multipart and raw image bodies decode like every other codec.

The fast grayscale PNG path (libspng) and Pillow's path must give the same pixels, and the
multipart parser and the raw ``image/png`` body must hand the decoder the same bytes the
client sent, in order.
"""

from __future__ import annotations

import struct
import zlib

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from core.manifest import InputSpec
from service.codecs import decode_images, decode_json_instances, decode_npy, parse_form
from service.codecs.multipart import _parse, _split
from service.codecs.png_gray import decode_gray_png
from service.errors import InvalidInput, PayloadTooLarge
from service.uploads import upload_payload
from tests.service.helpers import encode_npy, image_bytes
from training.inputs import INPUTS

MNIST: InputSpec = INPUTS["mnist"]
BOUNDARY = "test-boundary-7f3a"
FAST = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def multipart(files: list[tuple[str, bytes]], fields: dict[str, str] | None = None) -> bytes:
    parts = [
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{key}"\r\n\r\n{value}\r\n'.encode()
        for key, value in (fields or {}).items()
    ]
    for name, data in files:
        head = (
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="files"; '
            f'filename="{name}"\r\nContent-Type: image/png\r\n\r\n'
        )
        parts.append(head.encode() + data + b"\r\n")
    return b"".join(parts) + f"--{BOUNDARY}--\r\n".encode()


def _decode(files: list[tuple[str, bytes]]) -> np.ndarray:
    return decode_images(files, MNIST, max_pixels=10**6, max_batch=64)


# Dark borders: the digits' polarity (light on dark) keeps every picture as it is, so the
# images decode to exactly the JSON and .npy values.
digits = arrays(np.uint8, st.tuples(st.integers(1, 6), st.just(28), st.just(28))).map(
    lambda a: np.pad(a[:, 1:-1, 1:-1], ((0, 0), (1, 1), (1, 1)))
)


@FAST
@given(batch=digits)
def test_uploads_decode_the_same_batch_as_every_codec(batch: np.ndarray) -> None:
    n = len(batch)
    gray = [(f"{i}.png", image_bytes(image)) for i, image in enumerate(batch)]
    rgb = [(f"{i}.png", image_bytes(image, mode="RGB")) for i, image in enumerate(batch)]
    form = parse_form(
        multipart(gray), f"multipart/form-data; boundary={BOUNDARY}", max_files=64, max_fields=4
    )
    raw = [upload_payload("image/png", "image/png", data, max_files=1) for _, data in gray]
    results = [
        decode_json_instances(batch.astype(int).tolist(), MNIST, max_batch=64),
        decode_npy(encode_npy(batch.astype(np.float32)), MNIST, max_batch=64),
        _decode(gray),  # libspng
        _decode(rgb),  # Pillow
        _decode([(name, data) for _key, name, data in form.files]),
        np.concatenate([_decode(list(p.files)) for p in raw if p is not None]),
    ]
    for result in results:
        assert result.shape == (n, 28, 28) and result.dtype == np.float32
        np.testing.assert_array_equal(result, batch.astype(np.float32))


@FAST
@given(batch=arrays(np.uint8, st.tuples(st.integers(1, 4), st.just(28), st.just(28))))
def test_polarity_of_a_stack_is_each_pictures_own(batch: np.ndarray) -> None:
    """Light-bordered pictures are inverted one by one (Pillow) or as a stack (libspng)."""
    gray = [("g.png", image_bytes(image)) for image in batch]
    rgb = [("c.png", image_bytes(image, mode="RGB")) for image in batch]
    np.testing.assert_array_equal(_decode(gray), _decode(rgb))


def test_form_keeps_files_in_order_with_their_names_and_fields() -> None:
    files = [(f"digit-{i}.png", bytes([i]) * (i + 1)) for i in range(50)]
    body = multipart(files, {"space": "pixel"})
    form = parse_form(body, f"multipart/form-data; boundary={BOUNDARY}", max_files=50, max_fields=4)
    assert [(name, data) for _key, name, data in form.files] == files
    assert form.fields == {"space": "pixel"}


def test_form_limits_and_malformed_bodies_are_400s() -> None:
    kind = f"multipart/form-data; boundary={BOUNDARY}"
    body = multipart([("a.png", b"x"), ("b.png", b"y")], {"a": "1", "b": "2"})
    with pytest.raises(InvalidInput, match="Maximum number of files is 1"):
        parse_form(body, kind, max_files=1, max_fields=4)
    with pytest.raises(InvalidInput, match="Maximum number of fields is 1"):
        parse_form(body, kind, max_files=4, max_fields=1)
    with pytest.raises(InvalidInput, match="no boundary"):
        parse_form(body, "multipart/form-data", max_files=4, max_fields=4)
    with pytest.raises(InvalidInput, match="holds no files"):
        upload_payload("multipart/form-data", kind, multipart([], {"a": "1"}), max_files=4)
    with pytest.raises(InvalidInput, match="empty"):
        upload_payload("image/png", "image/png", b"", max_files=1)


def _png_header(width: int, height: int) -> bytes:
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    chunk = b"IHDR" + ihdr
    return (
        b"\x89PNG\r\n\x1a\n"
        + struct.pack(">I", len(ihdr))
        + chunk
        + struct.pack(">I", zlib.crc32(chunk))
    )


def test_pixel_limit_is_read_from_the_header_before_decoding() -> None:
    big = _png_header(5_000, 5_000) + b"IDAT" + bytes(64)  # no valid pixel data at all
    with pytest.raises(PayloadTooLarge, match="5000x5000 = 25000000 pixels exceeds"):
        decode_gray_png("image 'big.png'", big, max_pixels=16_000_000)
    bomb = _png_header(100_000, 100_000) + b"IDAT" + bytes(64)
    with pytest.raises(PayloadTooLarge, match="decompression bomb guard"):
        decode_images([("bomb.png", bomb)], MNIST, max_pixels=16_000_000, max_batch=1)


def test_other_pngs_are_left_to_pillow() -> None:
    image = np.arange(28 * 28, dtype=np.uint8).reshape(28, 28)
    assert decode_gray_png("a", image_bytes(image, mode="RGB"), max_pixels=10**6) is None
    assert decode_gray_png("a", image_bytes(image, fmt="JPEG"), max_pixels=10**6) is None
    cut = image_bytes(image)[:-30]  # a truncated stream: Pillow's path gives the error
    assert decode_gray_png("a", cut, max_pixels=10**6) is None
    np.testing.assert_array_equal(decode_gray_png("a", image_bytes(image), max_pixels=10**6), image)


@FAST
@given(
    files=st.lists(st.tuples(st.text("abc.-_ 1", min_size=1, max_size=8), st.binary(max_size=64))),
    fields=st.dictionaries(st.text("xyz", min_size=1, max_size=3), st.text(max_size=8), max_size=3),
)
def test_the_quick_split_reads_a_body_as_the_parser_does(
    files: list[tuple[str, bytes]], fields: dict[str, str]
) -> None:
    body = multipart(files, fields)
    quick = _split(body, BOUNDARY.encode())
    assert (quick is None) == (not files and not fields)
    if quick is not None:
        assert quick == _parse(body, BOUNDARY.encode())
