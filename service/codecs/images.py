"""Uploaded PNG/JPEG files -> a batch in the model's input format.

Each file: header checks (format, pixel count) -> decode -> EXIF orientation ->
grayscale, or RGB for a colour model (alpha over white) -> polarity matched to the
training data -> fitted to the input size (see :mod:`service.codecs.image_fit`) -> pixel
0..255 mapped linearly onto the manifest's value range. A picture already in the input's
exact size is used as is, so a PNG of a dataset image gives back exactly the dataset's array.

Plain 8-bit grayscale PNGs decode through libspng (:mod:`service.codecs.png_gray`), the
rest through Pillow. Grey pictures already in the input's size (the common case: a client
sends what the model takes) are matched in polarity and scaled as one stack.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial
from typing import Literal, get_args

import numpy as np
from PIL import Image

from core.manifest import InputSpec
from service.codecs import budget
from service.codecs.image_fit import fit_mnist_centre, fit_pad_resize, match_polarity
from service.codecs.image_open import open_image, to_gray, to_rgb
from service.codecs.png_gray import decode_gray_png
from service.codecs.validate import check_batch_size, dims_text
from service.errors import InvalidImage, InvalidInput, UnsupportedMediaType

#: How an image of another size is fitted to the input ("auto": the manifest's choice).
Fit = Literal["auto", "none", "mnist-centre", "pad-resize"]
FITS: tuple[str, ...] = get_args(Fit)
DEFAULT_FIT = "pad-resize"
_MAX_NAME = 80


def _label(index: int, filename: str | None) -> str:
    if not filename:
        return f"image {index}"
    name = "".join(c for c in filename if c.isprintable())[:_MAX_NAME]
    return f"image {name!r}"


def _channels(spec: InputSpec) -> int:
    """3 for an RGB input (H, W, 3), else 1."""
    return 3 if len(spec.shape) == 3 and spec.shape[2] == 3 else 1


def _image_size(spec: InputSpec) -> tuple[int, int]:
    """(H, W) of the input; a trailing channel axis of 1 or 3 (RGB) is allowed."""
    if (
        spec.kind != "image"
        or len(spec.shape) < 2
        or spec.size != spec.shape[0] * spec.shape[1] * _channels(spec)
    ):
        raise UnsupportedMediaType(
            f"this model takes vectors of shape {dims_text(spec.shape)}, not images; "
            "send JSON instances or an .npy array"
        )
    return spec.shape[0], spec.shape[1]


def _fit(gray: np.ndarray, size: tuple[int, int], fit: str, label: str) -> np.ndarray:
    if gray.shape[:2] == size:
        return gray.astype(np.float32)
    if fit == "none":
        raise InvalidImage(
            f"{label} is {gray.shape[1]}x{gray.shape[0]} (WxH); with fit=none it must be "
            f"exactly {size[1]}x{size[0]}"
        )
    if fit == "mnist-centre" and gray.ndim == 2:
        return fit_mnist_centre(gray, size)
    return fit_pad_resize(gray, size)


def _budget_check(
    label: str, fit: str, size: tuple[int, int], max_bytes: int | None
) -> Callable[[Image.Image], None] | None:
    if max_bytes is None:
        return None
    return partial(budget.check_image, label, fit=fit, shape=size, max_bytes=max_bytes)


def decode_images(
    files: Sequence[tuple[str, bytes]],
    spec: InputSpec,
    *,
    max_pixels: int,
    max_batch: int,
    fit: Fit = "auto",
    max_bytes: int | None = None,
    stop: Callable[[], None] | None = None,
) -> np.ndarray:
    """(filename, bytes) pairs -> float32 ``(N, *spec.shape)`` in ``spec.value_range``.

    ``max_bytes``: what decoding and fitting one image may allocate (413 above, 422 for an
    aspect ratio no fit can use; see :mod:`service.codecs.budget`); None: unbounded.
    ``stop``: called before each image; it raises to end the decoding (a client that left
    a thousand-image upload does not have the rest decoded)."""
    size = _image_size(spec)
    if fit not in FITS:
        raise InvalidInput(f"fit must be one of {', '.join(FITS)}; got {fit!r}")
    chosen = (spec.image_fit or DEFAULT_FIT) if fit == "auto" else fit
    check_batch_size(len(files), max_batch, noun="image")
    rgb = _channels(spec) == 3
    batch = np.empty((len(files), *size, *((3,) if rgb else ())), dtype=np.float32)
    fitted = np.zeros(len(files), dtype=bool)
    for index, (filename, data) in enumerate(files):
        if stop is not None:
            stop()
        label = _label(index, filename)
        check = _budget_check(label, chosen, size, max_bytes)
        if rgb:
            image = open_image(label, data, max_pixels=max_pixels, before_decode=check)
            batch[index] = _fit(
                match_polarity(to_rgb(image), spec.image_polarity), size, chosen, label
            )
            continue
        gray = decode_gray(label, data, max_pixels=max_pixels, check=check,
                           fit=chosen, size=size, max_bytes=max_bytes)  # fmt: skip
        if gray.shape == size:
            batch[index] = gray  # polarity below, for the whole stack at once
            fitted[index] = True
        else:
            gray = match_polarity(gray, spec.image_polarity)
            batch[index] = _fit(gray, size, chosen, label)
    if spec.image_polarity is not None and fitted.any():
        _match_polarity_stack(batch, fitted, spec.image_polarity)
    low, high = spec.value_range
    batch *= np.float32((high - low) / 255.0)
    batch += np.float32(low)
    return np.ascontiguousarray(batch.reshape(len(files), *spec.shape))


def decode_gray(
    label: str,
    data: bytes,
    *,
    max_pixels: int,
    check: Callable[[Image.Image], None] | None = None,
    fit: str = DEFAULT_FIT,
    size: tuple[int, int] = (28, 28),
    max_bytes: int | None = None,
) -> np.ndarray:
    """uint8 (H, W): libspng for a plain grayscale PNG, else Pillow (every other case);
    either way the memory budget is checked from the header before any pixel is decoded."""
    gray_check = None
    if max_bytes is not None:
        gray_check = partial(budget.check_gray_png, label, fit=fit, shape=size, max_bytes=max_bytes)
    gray = decode_gray_png(label, data, max_pixels=max_pixels, before_decode=gray_check)
    if gray is None:
        gray = to_gray(open_image(label, data, max_pixels=max_pixels, before_decode=check))
    return gray


def _match_polarity_stack(batch: np.ndarray, rows: np.ndarray, polarity: str) -> None:
    """``match_polarity`` for the rows of ``batch`` (0..255 values) marked in ``rows``, in
    place: the border ring's mean of every picture at once, the same test per picture."""
    stack = batch[rows]
    ring = np.concatenate(
        [stack[:, 0, :], stack[:, -1, :], stack[:, 1:-1, 0], stack[:, 1:-1, -1]], axis=1
    )
    light_background = ring.astype(np.float64).mean(axis=1) > 127
    flip = light_background != (polarity == "dark-on-light")
    stack[flip] = 255 - stack[flip]
    batch[rows] = stack
