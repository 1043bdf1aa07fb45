"""What decoding one request will allocate, computed before it is allocated.

The pixel limit (``max_image_pixels``) bounds the decoded picture, not what the fit makes of
it: ``pad-resize`` pads to the input's aspect ratio first, so a 2 KB one-bit PNG of
20000x800 pixels (16 M pixels, within the limit) became a 20000x20000 float32 square, plus
Pillow's copy of it: 3.2 GB for one request. Here every allocation of the image path is
counted from the header alone (size, mode), before a pixel is decoded, and the total is held
to ``max_decode_bytes`` (413). An image so elongated that, fitted to the input, it would be
under one pixel thick is refused as unusable (422), whatever its size.

A JSON body becomes Python objects before any shape is checked; 60 MB of ``[[], [], ...]``
is 20 M lists (1.1 GB). Its cost is estimated from byte counts (C speed, no parse) and held
to the same budget. An ``.npy`` body needs no estimate: its header's shape is checked
against the model's input and ``max_batch_size`` before any array is made, so it decodes to
at most ``max_batch_size x input size x 4`` bytes.

The byte counts per pixel follow Pillow's storage (1-bit, L and P images take one byte a
pixel; RGB, RGBA, two-band and 32-bit modes four) and what ``image_open.to_gray``,
``image_fit`` and ``ImageOps.exif_transpose`` allocate; ``tests/security`` measures a
worker's RSS against them.
"""

from __future__ import annotations

from PIL import Image

from service.errors import PayloadTooLarge, UnusableImage

MIB = 1024 * 1024
_ONE_BYTE_MODES = {"1", "L", "P"}
_SIXTEEN_BIT_MODES = {"I;16", "I;16B", "I;16L", "I;16N"}
#: ``to_gray`` of a 16-bit or 32-bit image: a float64 copy, its scaled copy, the uint8.
_WIDE_GRAY_BYTES = 17
#: ``to_gray`` with transparency: RGBA, white paper, their composite, L, the array.
_TRANSPARENT_GRAY_BYTES = 14
#: ``to_gray`` otherwise: the L conversion and the array.
_PLAIN_GRAY_BYTES = 2
#: ``mnist-centre`` works on a box-averaged copy at most this many times the input size.
_WORKING_SCALE = 8
#: float32 working arrays ``mnist-centre`` makes of its working copy (stretched, masks, ...).
_CENTRE_WORK_ARRAYS = 4
#: Most lists and objects in one JSON body. Building them is the slow part of a parse, and
#: orjson holds the GIL throughout: 5.6 M empty lists took 1.2 s of CPU, long enough (on a
#: loaded machine) for uvicorn's supervisor to take the worker for dead; 1 M take about
#: 0.4 s. The largest real request, 4096 nested 28x28 instances, holds 118,785.
MAX_JSON_CONTAINERS = 1_000_000
#: One JSON list (a CPython list object and its pointer in the parent).
_JSON_LIST_BYTES = 64
#: One JSON value (a float object and its pointer).
_JSON_VALUE_BYTES = 32
_JSON_MAX_BYTES_PER_BYTE = max(_JSON_LIST_BYTES, _JSON_VALUE_BYTES)


def _decoded_bytes_per_pixel(mode: str) -> int:
    if mode in _ONE_BYTE_MODES:
        return 1
    if mode in _SIXTEEN_BIT_MODES:
        return 2
    return 4


def _gray_bytes_per_pixel(image: Image.Image) -> int:
    if image.mode in _SIXTEEN_BIT_MODES or image.mode in ("I", "F"):
        return _WIDE_GRAY_BYTES
    if image.mode in ("RGBA", "LA", "PA", "La", "RGBa") or "transparency" in image.info:
        return _TRANSPARENT_GRAY_BYTES
    return _PLAIN_GRAY_BYTES


def fit_bytes(height: int, width: int, fit: str, shape: tuple[int, int]) -> int:
    """Bytes the fit allocates for a grey (height, width) picture and an input ``shape``."""
    out_h, out_w = shape
    if (height, width) == shape or fit == "none":
        return out_h * out_w * 4
    if fit == "mnist-centre":
        working = (_WORKING_SCALE * max(shape)) ** 2
        return height * width + _CENTRE_WORK_ARRAYS * 4 * working
    if width * out_h > height * out_w:
        padded_h, padded_w = max(height, round(width * out_h / out_w)), width
    else:
        padded_h, padded_w = height, max(width, round(height * out_w / out_h))
    # the float32 square, Pillow's copy of it, and the resize's horizontal pass
    return 2 * 4 * padded_h * padded_w + 4 * out_w * padded_h


def image_bytes(image: Image.Image, fit: str, shape: tuple[int, int]) -> int:
    """Everything decoding and fitting ``image`` (opened, not loaded) will allocate."""
    width, height = image.size
    pixels = width * height
    decoded = 2 * _decoded_bytes_per_pixel(image.mode) * pixels  # and exif_transpose's copy
    gray = _gray_bytes_per_pixel(image) * pixels + pixels  # + match_polarity's inversion
    # EXIF orientation may swap the sides: count the costlier way round.
    fitted = max(fit_bytes(height, width, fit, shape), fit_bytes(width, height, fit, shape))
    return decoded + gray + fitted


def check_aspect(label: str, width: int, height: int, shape: tuple[int, int]) -> None:
    """422 when the picture, fitted to the input, would be under one pixel thick."""
    longest, shortest = max(width, height), min(width, height)
    limit = max(shape)
    if longest > limit * shortest:
        raise UnusableImage(
            f"{label} is {width}x{height} (WxH), an aspect ratio of {longest / shortest:.4g}:1; "
            f"fitted to the model's {shape[1]}x{shape[0]} input it would be under one pixel "
            f"thick, so no fit can use it (at most {limit}:1)"
        )


def check_image(
    label: str, image: Image.Image, *, fit: str, shape: tuple[int, int], max_bytes: int
) -> None:
    """Refuse, from the header, an image no fit can use (422) or one over budget (413)."""
    width, height = image.size
    _check(label, width, height, image_bytes(image, fit, shape), fit=fit, shape=shape,
           max_bytes=max_bytes)  # fmt: skip


def check_gray_png(
    label: str, width: int, height: int, *, fit: str, shape: tuple[int, int], max_bytes: int
) -> None:
    """``check_image`` for a plain 8-bit grey PNG decoded by libspng (``png_gray``): its
    uint8 pixels, match_polarity's inversion, and the fit."""
    needed = 2 * width * height + fit_bytes(height, width, fit, shape)
    _check(label, width, height, needed, fit=fit, shape=shape, max_bytes=max_bytes)


def _check(
    label: str, width: int, height: int, needed: int, *, fit: str, shape: tuple[int, int],
    max_bytes: int,
) -> None:  # fmt: skip
    if (height, width) != shape and fit != "none":
        check_aspect(label, width, height, shape)
    if needed > max_bytes:
        raise PayloadTooLarge(
            f"{label}: decoding this {width}x{height} (WxH) image with fit={fit} would take "
            f"{needed / MIB:.0f} MB, over the limit of {max_bytes / MIB:.0f} MB "
            "(max_decode_bytes); send a smaller image or one closer to the input's "
            f"{shape[1]}x{shape[0]} proportions"
        )


def json_bytes(body: bytes) -> int:
    """An upper estimate of the memory ``orjson.loads(body)`` takes, without parsing."""
    lists = body.count(b"[") + body.count(b"{")
    values = body.count(b",") + body.count(b":") + 1
    return _JSON_LIST_BYTES * lists + _JSON_VALUE_BYTES * values


def check_json(body: bytes, *, max_bytes: int) -> None:
    """413 before parsing a JSON body whose parsed values would exceed the budget, or that
    holds more lists and objects than ``MAX_JSON_CONTAINERS``."""
    if len(body) <= MAX_JSON_CONTAINERS and (len(body) + 1) * _JSON_MAX_BYTES_PER_BYTE <= max_bytes:
        # Each byte opens at most one list or value, so a body this short is within both
        # bounds whatever it holds: the hot path's small bodies skip the six counting passes.
        return
    containers = body.count(b"[") + body.count(b"{")
    if containers > MAX_JSON_CONTAINERS:
        raise PayloadTooLarge(
            f"this JSON body holds {containers} lists and objects; at most "
            f"{MAX_JSON_CONTAINERS} (the largest batch of nested 28x28 instances holds "
            f"{4096 * 29})"
        )
    needed = json_bytes(body)
    if needed > max_bytes:
        raise PayloadTooLarge(
            f"this {len(body)}-byte JSON body would take about {needed / MIB:.0f} MB once "
            f"parsed, over the limit of {max_bytes / MIB:.0f} MB (max_decode_bytes)"
        )
