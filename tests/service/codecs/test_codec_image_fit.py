"""Uploads become inputs that look like the training data, whatever their size and mode."""

from collections.abc import Callable, Iterator

import numpy as np
import pytest
from PIL import Image

from core.manifest import InputSpec
from service.codecs import decode_images

Seven = Callable[[int, int], Image.Image]
Encode = Callable[..., bytes]
LIMITS = {"max_pixels": 4_000_000, "max_batch": 1000}
ROWS = np.arange(28)


def _decode_one(data: bytes, spec: InputSpec, **options: object) -> np.ndarray:
    return decode_images([("upload", data)], spec, **{**LIMITS, **options})[0]


def _centre_of_mass(image: np.ndarray) -> tuple[float, float]:
    mass = image.sum()
    ys, xs = np.arange(image.shape[0]), np.arange(image.shape[1])
    return float((image.sum(axis=1) * ys).sum() / mass), float(
        (image.sum(axis=0) * xs).sum() / mass
    )


def _ink_box(image: np.ndarray, level: float = 50) -> tuple[int, int]:
    ink = image > level
    rows, cols = np.flatnonzero(ink.any(axis=1)), np.flatnonzero(ink.any(axis=0))
    return int(rows[-1] - rows[0] + 1), int(cols[-1] - cols[0] + 1)


def _correlation(a: np.ndarray, b: np.ndarray) -> float:
    """Best over whole-pixel shifts of up to one pixel: centring by mass rounds to pixels."""
    shifts = [(dy, dx) for dy in (-1, 0, 1) for dx in (-1, 0, 1)]
    moved = (np.roll(a, shift, axis=(0, 1)) for shift in shifts)
    return max(float(np.corrcoef(m.ravel(), b.ravel())[0, 1]) for m in moved)


def test_mnist_test_images_as_png_are_byte_identical(
    mnist_spec: InputSpec, mnist_test_images: np.ndarray, encode: Encode
) -> None:
    images = mnist_test_images[:1000]
    files = [(f"{i}.png", encode(Image.fromarray(image))) for i, image in enumerate(images)]
    out = decode_images(files, mnist_spec, **LIMITS)
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, images.astype(np.float32))


@pytest.mark.slow
def test_every_mnist_test_image_as_png_is_byte_identical(
    mnist_spec: InputSpec, mnist_test_images: np.ndarray, encode: Encode
) -> None:
    files = [(f"{i}.png", encode(Image.fromarray(im))) for i, im in enumerate(mnist_test_images)]
    out = decode_images(files, mnist_spec, max_pixels=1000, max_batch=10_000)
    np.testing.assert_array_equal(out, mnist_test_images.astype(np.float32))


def test_enlarged_dark_on_light_mnist_digits_come_back_close(
    mnist_spec: InputSpec, mnist_test_images: np.ndarray, encode: Encode
) -> None:
    """Print a digit 4x larger as ink on paper, off-centre: mnist-centre undoes all of it."""
    originals = mnist_test_images[:30]
    files = []
    for i, image in enumerate(originals):
        paper = Image.new("L", (200, 160), 255)
        inked = Image.fromarray(255 - image).resize((112, 112), Image.Resampling.BICUBIC)
        paper.paste(inked, (10 + 2 * i, 30))
        files.append((f"{i}.png", encode(paper)))
    out = decode_images(files, mnist_spec, **LIMITS)
    correlations = [_correlation(a, b) for a, b in zip(out, originals, strict=True)]
    assert np.mean(correlations) > 0.9
    assert min(correlations) > 0.8


def test_dark_on_light_drawing_is_inverted_and_centred(
    mnist_spec: InputSpec, seven: Seven, encode: Encode
) -> None:
    out = _decode_one(encode(seven(200, 300)), mnist_spec)
    assert out.shape == (28, 28)
    assert out.max() == 255.0
    assert out[0].max() == 0.0 and out[:, 0].max() == 0.0  # black background
    centre_y, centre_x = _centre_of_mass(out)
    assert abs(centre_y - 14) <= 1 and abs(centre_x - 14) <= 1
    assert max(_ink_box(out)) in (19, 20, 21)  # longest side scaled to 20 of 28


def _variants(seven: Image.Image, encode: Encode) -> Iterator[tuple[str, bytes]]:
    yield "1", encode(seven.convert("1"))
    yield "LA", encode(seven.convert("LA"))
    yield "RGB", encode(seven.convert("RGB"))
    ink_on_glass = Image.new("RGBA", seven.size, (0, 0, 0, 0))
    ink_on_glass.putalpha(Image.eval(seven, lambda v: 255 - v))
    yield "RGBA transparent", encode(ink_on_glass)
    yield "P", encode(seven.convert("P"))
    palette = seven.convert("P")
    yield "P transparent", encode(palette, transparency=palette.getpixel((0, 0)))
    yield "I;16", encode(Image.fromarray(np.asarray(seven).astype(np.uint16) * 257))
    yield "light-on-dark L", encode(Image.eval(seven, lambda v: 255 - v))
    yield "CMYK JPEG", encode(seven.convert("CMYK"), "JPEG", quality=95)
    yield "RGB JPEG", encode(seven.convert("RGB"), "JPEG", quality=95)
    yield "L JPEG", encode(seven, "JPEG", quality=95)


def test_every_colour_mode_gives_the_same_input(
    mnist_spec: InputSpec, seven: Seven, encode: Encode
) -> None:
    drawing = seven(120, 90)
    reference = _decode_one(encode(drawing), mnist_spec)
    for mode, data in _variants(drawing, encode):
        out = _decode_one(data, mnist_spec)
        tolerance = 2.0 if "JPEG" in mode else 0.0
        assert np.abs(out - reference).max() <= tolerance, mode


def test_large_photo_of_a_digit_on_uneven_paper(
    mnist_spec: InputSpec, seven: Seven, encode: Encode
) -> None:
    drawing = seven(2000, 1500)
    rng = np.random.default_rng(5)
    ink = np.asarray(drawing, dtype=np.float64)
    shading = np.linspace(0, 40, 2000)[None, :] + np.linspace(0, 20, 1500)[:, None]
    photo = np.clip(ink * 0.75 + 40 - shading + rng.normal(0, 6, ink.shape), 0, 255)
    rgb = Image.fromarray(photo.astype(np.uint8)).convert("RGB")
    out = _decode_one(encode(rgb, "JPEG", quality=85), mnist_spec)
    clean = _decode_one(encode(drawing), mnist_spec)
    assert out[:3].max() == 0.0 and out[:, -3:].max() == 0.0  # paper and noise gone
    assert _correlation(out, clean) > 0.9


def test_tiny_and_blank_images_give_an_empty_canvas(mnist_spec: InputSpec, encode: Encode) -> None:
    for colour in (0, 255):
        out = _decode_one(encode(Image.new("L", (1, 1), colour)), mnist_spec)
        assert out.shape == (28, 28)
        assert out.max() == 0.0


def test_tall_thin_stroke(mnist_spec: InputSpec, encode: Encode) -> None:
    strip = Image.new("L", (12, 400), 255)
    strip.paste(0, (4, 40, 8, 360))
    out = _decode_one(encode(strip), mnist_spec)
    height, width = _ink_box(out)
    assert height in (19, 20, 21) and width <= 2
    centre_y, centre_x = _centre_of_mass(out)
    assert abs(centre_y - 14) <= 1 and abs(centre_x - 14) <= 1


def test_exif_orientation_of_phone_jpegs_is_applied(
    mnist_spec: InputSpec, seven: Seven, encode: Encode
) -> None:
    upright = seven(90, 150).convert("RGB")
    stored = upright.rotate(90, expand=True)  # how the sensor wrote it
    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation: rotate 90 degrees clockwise to display
    from_phone = _decode_one(encode(stored, "JPEG", quality=95, exif=exif), mnist_spec)
    expected = _decode_one(encode(upright, "JPEG", quality=95), mnist_spec)
    sideways = _decode_one(encode(stored, "JPEG", quality=95), mnist_spec)
    assert np.abs(from_phone - expected).mean() < 2
    assert np.abs(sideways - expected).mean() > 10


def test_fit_can_be_chosen_per_request(mnist_spec: InputSpec, seven: Seven, encode: Encode) -> None:
    data = encode(seven(120, 90))
    padded = _decode_one(data, mnist_spec, fit="pad-resize")
    centred = _decode_one(data, mnist_spec)
    assert padded.shape == centred.shape == (28, 28)
    assert max(_ink_box(padded)) < max(_ink_box(centred))  # the whole picture was kept


def test_sklearn_digits_exact_size_is_mapped_onto_0_to_16(
    digits8_spec: InputSpec, encode: Encode
) -> None:
    pixels = np.arange(64, dtype=np.uint8).reshape(8, 8) * 2
    out = _decode_one(encode(Image.fromarray(pixels)), digits8_spec)
    np.testing.assert_allclose(out, pixels * (16 / 255), rtol=1e-6)


def test_sklearn_digits_larger_image_is_padded_and_resized(
    digits8_spec: InputSpec, encode: Encode
) -> None:
    wide = Image.new("L", (64, 32), 255)  # twice as wide as tall: padded above and below
    wide.paste(0, (24, 8, 40, 24))  # a 16x16 black block in the middle
    out = _decode_one(encode(wide), digits8_spec)
    assert out.shape == (8, 8)
    assert out.min() >= 0.0 and out.max() <= 16.0
    assert out[:2].max() < 0.5 and out[-2:].max() < 0.5
    assert out[3:5, 3:5].min() > 12.0  # Lanczos blurs a 2x2 block a little
