"""The memory budget of decoding: the issue's image attacks refused from the header, before
a pixel is decoded, and JSON refused before it is parsed; ordinary inputs untouched."""

from __future__ import annotations

import io
import resource

import numpy as np
import pytest
from PIL import Image

from core.manifest import InputSpec
from service.codecs import budget, decode_images
from service.errors import PayloadTooLarge, UnusableImage

MIB = 1024 * 1024
LIMITS = {"max_pixels": 16_000_000, "max_batch": 8, "max_bytes": 512 * MIB}


def _one_bit_png(width: int, height: int) -> bytes:
    out = io.BytesIO()
    Image.new("1", (width, height), 1).save(out, "PNG")
    return out.getvalue()


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@pytest.mark.parametrize(("width", "height"), [(20000, 800), (800, 20000)])
def test_pad_resize_bomb_is_413_before_decoding(
    width: int, height: int, mnist_spec: InputSpec
) -> None:
    data = _one_bit_png(width, height)
    before = _peak_rss_mb()
    with pytest.raises(PayloadTooLarge, match=r"would take 3\d{3} MB.*max_decode_bytes"):
        decode_images([("bomb.png", data)], mnist_spec, fit="pad-resize", **LIMITS)
    assert _peak_rss_mb() - before < 64  # the 3 GB square was never made


def test_elongated_images_are_422_naming_the_ratio(
    mnist_spec: InputSpec, digits8_spec: InputSpec
) -> None:
    with pytest.raises(UnusableImage, match=r"16000x1000.*16:1.*at most 8:1"):
        decode_images([("a.png", _one_bit_png(16000, 1000))], digits8_spec, **LIMITS)
    with pytest.raises(UnusableImage, match=r"1.6e\+07:1.*at most 28:1"):
        decode_images([("b.png", _one_bit_png(16_000_000, 1))], mnist_spec, **LIMITS)


def test_mnist_centre_takes_a_long_strip_within_budget(mnist_spec: InputSpec) -> None:
    """mnist-centre shrinks first, so 20000x800 costs little and is answered."""
    out = decode_images(
        [("s.png", _one_bit_png(20000, 800))], mnist_spec, fit="mnist-centre", **LIMITS
    )
    assert out.shape == (1, 28, 28)


def test_a_large_photo_fits_the_default_budget(mnist_spec: InputSpec) -> None:
    """A 12-megapixel RGB picture, padded and resized, is well inside 512 MB."""
    out = io.BytesIO()
    Image.new("RGB", (4032, 3024), (250, 250, 250)).save(out, "PNG")
    image = Image.open(io.BytesIO(out.getvalue()))
    assert budget.image_bytes(image, "pad-resize", (28, 28)) < 300 * MIB
    decoded = decode_images([("photo.png", out.getvalue())], mnist_spec, fit="pad-resize", **LIMITS)
    assert np.isfinite(decoded).all()


def test_the_estimate_covers_what_the_fit_allocates() -> None:
    """pad-resize of 1000x250 onto 28x28: a 1000x1000 float32 square and Pillow's copy."""
    assert budget.fit_bytes(250, 1000, "pad-resize", (28, 28)) >= 2 * 4 * 1000 * 1000
    assert budget.fit_bytes(28, 28, "pad-resize", (28, 28)) == 28 * 28 * 4


def test_json_of_twenty_million_numbers_is_refused_before_parsing() -> None:
    body = b'{"instances": [[' + b"0," * 20_000_000 + b"0]]}"
    with pytest.raises(PayloadTooLarge, match=r"about \d+ MB once parsed.*max_decode_bytes"):
        budget.check_json(body, max_bytes=512 * MIB)


def test_json_of_a_full_batch_passes() -> None:
    """The largest batch a digits model takes (4096 x 784 numbers) is far inside the budget."""
    row = b"[" + b"0.5," * 783 + b"0.5]"
    body = b'{"instances": [' + b",".join([row] * 4096) + b"]}"
    budget.check_json(body, max_bytes=512 * MIB)
    assert budget.json_bytes(body) < 128 * MIB


def test_json_with_a_million_lists_is_refused_before_parsing() -> None:
    """Building lists is what holds the GIL: their number is capped whatever the budget."""
    body = b'{"instances": [' + b"[]," * budget.MAX_JSON_CONTAINERS + b"[]]}"
    with pytest.raises(PayloadTooLarge, match="lists and objects"):
        budget.check_json(body, max_bytes=2**40)
