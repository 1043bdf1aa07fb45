"""Untrusted image bytes -> a loaded Pillow image -> 8-bit grayscale pixels.

Order matters for safety: the format and the pixel count come from the header (Pillow's
``Image.open`` reads no pixel data), so a decompression bomb or a GIF is refused before a
single pixel is decoded. Only then are the pixels loaded.
"""

from __future__ import annotations

import io
from collections.abc import Callable

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from service.codecs.media import ACCEPTED_IMAGE_FORMATS
from service.errors import InvalidImage, PayloadTooLarge, UnsupportedMediaType

#: Phones write JPEGs that Pillow reports as MPO (JPEG plus extra frames): same decoder.
_JPEG_ALIASES = {"MPO": "JPEG"}
_16_BIT_MODES = {"I;16", "I;16B", "I;16L", "I;16N"}


def check_pixel_count(label: str, width: int, height: int, *, max_pixels: int) -> None:
    """The size a header declares, checked before anything is decoded (both image paths)."""
    if width * height > max_pixels:
        raise PayloadTooLarge(
            f"{label}: {width}x{height} = {width * height} pixels exceeds the limit of "
            f"{max_pixels} (max_image_pixels)"
        )
    if width == 0 or height == 0:
        raise InvalidImage(f"{label}: the image has no pixels")


def open_image(
    label: str,
    data: bytes,
    *,
    max_pixels: int,
    before_decode: Callable[[Image.Image], None] | None = None,
) -> Image.Image:
    """Open, check format and size from the header, then decode and apply EXIF orientation.

    ``before_decode`` sees the opened image (header only) and may refuse it by raising: the
    memory budget (``service.codecs.budget``) is checked there."""
    try:
        image = Image.open(io.BytesIO(data))
    except Image.DecompressionBombError:
        raise PayloadTooLarge(
            f"{label} is too large to decode (decompression bomb guard)"
        ) from None
    except UnidentifiedImageError:
        raise InvalidImage(f"{label}: not a readable image; send PNG or JPEG") from None
    except Exception:  # Pillow raises many types on hostile headers; all mean "bad image"
        raise InvalidImage(f"{label}: the image header is corrupt") from None
    image_format = _JPEG_ALIASES.get(image.format or "", image.format)
    if image_format not in ACCEPTED_IMAGE_FORMATS:
        raise UnsupportedMediaType(
            f"{label}: format {image.format} is not accepted; send "
            + " or ".join(ACCEPTED_IMAGE_FORMATS)
        )
    check_pixel_count(label, *image.size, max_pixels=max_pixels)
    if before_decode is not None:
        before_decode(image)
    try:
        image.load()
        return ImageOps.exif_transpose(image)
    except Image.DecompressionBombError:
        raise PayloadTooLarge(
            f"{label} is too large to decode (decompression bomb guard)"
        ) from None
    except Exception:  # truncated or corrupt data surfaces as OSError, SyntaxError, ...
        raise InvalidImage(f"{label}: corrupt or truncated {image_format} data") from None


def to_gray(image: Image.Image) -> np.ndarray:
    """Any mode -> uint8 (H, W); transparency is composited on white, as on paper."""
    if image.mode in _16_BIT_MODES or image.mode in ("I", "F"):
        values = np.asarray(image, dtype=np.float64)
        wide = image.mode in _16_BIT_MODES or values.max(initial=0) > 255
        scaled = values / 257.0 if wide else values
        return np.clip(np.rint(scaled), 0, 255).astype(np.uint8)
    if image.has_transparency_data:
        rgba = image.convert("RGBA")
        paper = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        image = Image.alpha_composite(paper, rgba)
    return np.asarray(image.convert("L"), dtype=np.uint8)


def to_rgb(image: Image.Image) -> np.ndarray:
    """Any mode -> uint8 (H, W, 3), for colour models; grey pictures repeat their one channel
    and transparency is composited on white, as in ``to_gray``."""
    if image.mode in _16_BIT_MODES or image.mode in ("I", "F", "L", "LA", "1"):
        return np.repeat(to_gray(image)[:, :, None], 3, axis=2)
    if image.has_transparency_data:
        rgba = image.convert("RGBA")
        paper = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        image = Image.alpha_composite(paper, rgba)
    return np.asarray(image.convert("RGB"), dtype=np.uint8)
