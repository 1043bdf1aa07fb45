"""The common upload, an 8-bit grayscale PNG, decoded by libspng without Pillow's overhead.

Pillow spends about 50 us in Python around a 28x28 PNG (plugin lookup, chunk handling,
``load``), several times the decoding itself; pyspng (libspng) decodes the same image in
about 7 us. Only PNGs whose every pixel means the same to both decoders take this path:
8-bit grayscale (colour type 0), and before the image data only chunks that change no pixel
value here (text, timestamps, physical size). Transparency (``tRNS``), a palette, EXIF
orientation (``eXIf``), colour and any other chunk, and every other format, go to Pillow
(:mod:`service.codecs.image_open`), which also gives the exact 4xx for anything this path
cannot decode. The size limit is checked from the header before a pixel is decoded, with
the same error as Pillow's path.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Sequence

import numpy as np
import pyspng
from PIL import Image

from service.codecs.image_open import check_pixel_count
from service.errors import PayloadTooLarge

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
#: Chunks allowed before the first IDAT: none of them changes what a pixel decodes to.
_NEUTRAL_CHUNKS = frozenset({b"IHDR", b"tEXt", b"zTXt", b"iTXt", b"tIME", b"pHYs"})
#: Chunks read before giving up and leaving the file to Pillow.
_MAX_CHUNKS = 16
_GRAY, _BIT_DEPTH = 0, 8
#: Uploads decoded on the event loop rather than in the thread pool: PNGs only (sizes read
#: from their headers), this many pixels in all (about 170 28x28 digits, ~2 ms of work).
#: A hand-off to the pool costs more than decoding one small digit; a photo still goes there.
INLINE_MAX_PIXELS = 131_072


def png_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) from a PNG's IHDR, or None when ``data`` does not start like one."""
    if len(data) < 33 or not data.startswith(PNG_SIGNATURE) or data[12:16] != b"IHDR":
        return None
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def _plain_gray(data: bytes) -> bool:
    """8-bit grayscale, not interlaced, only neutral chunks before the image data."""
    if data[24] != _BIT_DEPTH or data[25] != _GRAY or data[28] != 0:
        return False
    offset = len(PNG_SIGNATURE)
    for _ in range(_MAX_CHUNKS):
        if offset + 8 > len(data):
            return False
        length = struct.unpack(">I", data[offset : offset + 4])[0]
        kind = data[offset + 4 : offset + 8]
        if kind == b"IDAT":
            return True
        if kind not in _NEUTRAL_CHUNKS:
            return False
        offset += 12 + length
    return False


def decode_gray_png(
    label: str,
    data: bytes,
    *,
    max_pixels: int,
    before_decode: Callable[[int, int], None] | None = None,
) -> np.ndarray | None:
    """uint8 (H, W) pixels of a plain grayscale PNG; None when Pillow should decode it.
    ``before_decode(width, height)`` may refuse once the size limits have passed (the
    memory budget, ``service.codecs.budget``)."""
    size = png_size(data)
    if size is None:
        return None
    width, height = size
    if Image.MAX_IMAGE_PIXELS and width * height > 2 * Image.MAX_IMAGE_PIXELS:
        # what Pillow's open says first (service.codecs.image_open), so both paths agree
        raise PayloadTooLarge(f"{label} is too large to decode (decompression bomb guard)")
    check_pixel_count(label, width, height, max_pixels=max_pixels)
    if not _plain_gray(data):
        return None
    if before_decode is not None:
        before_decode(width, height)
    try:
        pixels = pyspng.load(data)
    except RuntimeError:  # damaged or truncated: Pillow's path names the error (or reads it)
        return None
    if pixels.dtype != np.uint8 or pixels.shape != (height, width):
        return None
    return pixels


def inline_images(files: Sequence[tuple[str, bytes]]) -> bool:
    """True when every file is a PNG and their pixels together are few (decode inline)."""
    total = 0
    for _name, data in files:
        size = png_size(data)
        if size is None:
            return False
        total += size[0] * size[1]
        if total > INLINE_MAX_PIXELS:
            return False
    return True
