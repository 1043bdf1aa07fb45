"""Uploads: which bytes are accepted, and how hostile or broken ones are refused."""

import struct
import zlib
from collections.abc import Callable

import numpy as np
import pytest
from PIL import Image

from core.manifest import InputSpec
from service.codecs import decode_images
from service.errors import InvalidImage, InvalidInput, PayloadTooLarge, UnsupportedMediaType

Seven = Callable[[int, int], Image.Image]
Encode = Callable[..., bytes]

LIMITS = {"max_pixels": 4_000_000, "max_batch": 8}


def _png_chunk(kind: bytes, payload: bytes) -> bytes:
    crc = struct.pack(">I", zlib.crc32(kind + payload))
    return struct.pack(">I", len(payload)) + kind + payload + crc


def bomb_png(side: int = 50_000, *, with_pixels: bool = True) -> bytes:
    """A valid black 1-bit PNG of side x side pixels in about 300 KB.

    The zlib stream repeats one fully-flushed block of zero rows, so building it costs
    one block's compression; decoding it would cost side * side pixels.
    """
    row = bytes(1 + (side + 7) // 8)
    rows_per_block = 1000
    compressor = zlib.compressobj(9)
    block = row * rows_per_block
    first = compressor.compress(block) + compressor.flush(zlib.Z_FULL_FLUSH)
    again = compressor.compress(block) + compressor.flush(zlib.Z_FULL_FLUSH)
    total = len(row) * side
    end = b"\x03\x00" + struct.pack(">I", ((total % 65521) << 16) | 1)  # empty final block
    idat = first + again * (side // rows_per_block - 1) + end if with_pixels else b""
    header = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", idat)
        + _png_chunk(b"IEND", b"")
    )


def test_decompression_bomb_is_refused_with_413(mnist_spec: InputSpec) -> None:
    with pytest.raises(PayloadTooLarge, match=r"'bomb.png'"):
        decode_images([("bomb.png", bomb_png())], mnist_spec, **LIMITS)


def test_bomb_is_refused_from_the_header_before_any_pixel_is_read(mnist_spec: InputSpec) -> None:
    # No pixel data at all: decoding would fail as truncated (400), so a 413 proves the
    # size was checked first.
    with pytest.raises(PayloadTooLarge):
        decode_images([("bomb.png", bomb_png(with_pixels=False))], mnist_spec, **LIMITS)


def test_pixel_limit_of_the_settings(mnist_spec: InputSpec, encode: Encode) -> None:
    data = encode(Image.new("L", (3000, 2000)))
    with pytest.raises(PayloadTooLarge) as caught:
        decode_images([("big.png", data)], mnist_spec, max_pixels=5_000_000, max_batch=8)
    assert caught.value.message == (
        "image 'big.png': 3000x2000 = 6000000 pixels exceeds the limit of 5000000 "
        "(max_image_pixels)"
    )


@pytest.mark.parametrize(
    ("image_format", "name"), [("GIF", "GIF"), ("TIFF", "TIFF"), ("BMP", "BMP"), ("WEBP", "WEBP")]
)
def test_other_formats_are_refused_with_415_whatever_the_filename(
    seven: Seven, mnist_spec: InputSpec, encode: Encode, image_format: str, name: str
) -> None:
    data = encode(seven(40, 40), image_format)
    with pytest.raises(UnsupportedMediaType) as caught:
        decode_images([("digit.png", data)], mnist_spec, **LIMITS)
    assert caught.value.message == (
        f"image 'digit.png': format {name} is not accepted; send PNG or JPEG"
    )


def test_png_named_gif_is_judged_by_its_bytes(
    seven: Seven, mnist_spec: InputSpec, encode: Encode
) -> None:
    out = decode_images([("cat.gif", encode(seven(40, 40)))], mnist_spec, **LIMITS)
    assert out.shape == (1, 28, 28)


@pytest.mark.parametrize("cut", [0.5, 0.9])
@pytest.mark.parametrize("image_format", ["PNG", "JPEG"])
def test_truncated_images_are_400(
    seven: Seven, mnist_spec: InputSpec, encode: Encode, image_format: str, cut: float
) -> None:
    data = encode(seven(300, 300).convert("RGB"), image_format)
    with pytest.raises(InvalidImage, match=f"image 't': corrupt or truncated {image_format}"):
        decode_images([("t", data[: int(len(data) * cut)])], mnist_spec, **LIMITS)


def test_corrupt_png_data_is_400(seven: Seven, mnist_spec: InputSpec, encode: Encode) -> None:
    data = bytearray(encode(seven(100, 100)))
    data[60:80] = bytes(20)
    with pytest.raises(InvalidImage):
        decode_images([("c.png", bytes(data))], mnist_spec, **LIMITS)


@pytest.mark.parametrize("data", [np.random.default_rng(4).bytes(2000), b"", b"\x89PNG\r\n"])
def test_bytes_that_are_no_image_are_400(mnist_spec: InputSpec, data: bytes) -> None:
    with pytest.raises(InvalidImage, match=r"image 'x.png': not a readable image"):
        decode_images([("x.png", data)], mnist_spec, **LIMITS)


def test_the_failing_file_is_named_in_a_batch(
    seven: Seven, mnist_spec: InputSpec, encode: Encode
) -> None:
    good = encode(seven(40, 40))
    with pytest.raises(InvalidImage, match=r"^image 'second.png'"):
        decode_images([("first.png", good), ("second.png", b"junk")], mnist_spec, **LIMITS)
    with pytest.raises(InvalidImage, match=r"^image 1:"):
        decode_images([("", good), ("", b"junk")], mnist_spec, **LIMITS)


def test_vector_models_take_no_images(seven: Seven, xor_spec: InputSpec, encode: Encode) -> None:
    with pytest.raises(UnsupportedMediaType, match="takes vectors of shape 2, not images"):
        decode_images([("a.png", encode(seven(8, 8)))], xor_spec, **LIMITS)


def test_batch_limits(seven: Seven, mnist_spec: InputSpec, encode: Encode) -> None:
    data = encode(seven(28, 28))
    with pytest.raises(InvalidInput, match="empty batch: send at least one image"):
        decode_images([], mnist_spec, **LIMITS)
    with pytest.raises(PayloadTooLarge, match="batch of 9 images exceeds the limit of 8"):
        decode_images([("a.png", data)] * 9, mnist_spec, **LIMITS)


def test_fit_option(seven: Seven, mnist_spec: InputSpec, encode: Encode) -> None:
    with pytest.raises(InvalidInput, match="fit must be one of auto, none"):
        decode_images([("a.png", encode(seven(28, 28)))], mnist_spec, fit="stretch", **LIMITS)
    with pytest.raises(InvalidImage, match=r"'a.png' is 40x30 \(WxH\); with fit=none"):
        decode_images([("a.png", encode(seven(40, 30)))], mnist_spec, fit="none", **LIMITS)
