"""Make an uploaded grayscale picture look like the training data.

Polarity: MNIST, Fashion-MNIST and the sklearn digits are light figures on a dark
background; a photo or a drawing is usually dark ink on light paper. The border decides:
if the outermost pixels are light on average (mean > 127), the picture is inverted.

``mnist-centre`` repeats how MNIST itself was made (LeCun, Cortes and Burges): the
digit's bounding box was scaled, keeping its aspect ratio, to fit a 20x20 box with
anti-aliasing, then placed in a 28x28 field so that its centre of mass lies at the
centre. Here: the picture is box-averaged down to a working size (8x the input), the
background is removed (everything darker than halfway between the
border's median and Otsu's ink/paper threshold, which also removes uneven lighting in
photos) and the contrast stretched, the figure is cropped to its bounding box, resized
with Lanczos so its longest side is 20/28 of the input, brought back to full intensity
(every MNIST digit peaks at 254-255), and pasted onto a black canvas with its centre of
mass at the canvas centre, moved by whole pixels as MNIST was (index coordinate 14 of
0..27, where MNIST's mean centre of mass lies).

``pad-resize`` (Fashion-MNIST, sklearn digits, whose figures fill the frame, and every
imported model whose task does not say otherwise): pad to the input's aspect ratio with the
background level, then resize with Lanczos; a colour picture is fitted channel by channel,
each padded with its own border's median.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

#: Longest side of the figure in MNIST: 20 of 28 pixels.
MNIST_FIGURE_FRACTION = 20 / 28
#: Below this (0-255) after stretching, a pixel counts as background noise.
NOISE_LEVEL = 38
#: Pictures are first box-averaged down to at most this many times the input size:
#: enough detail for the final resize, and sensor noise averages away.
WORKING_SCALE = 8
#: A picture whose brightest pixel is this close to the background holds no figure.
MIN_CONTRAST = 16


def border(gray: np.ndarray) -> np.ndarray:
    """The outermost ring of pixels."""
    return np.concatenate([gray[0, :], gray[-1, :], gray[1:-1, 0], gray[1:-1, -1]])


def match_polarity(gray: np.ndarray, polarity: str | None) -> np.ndarray:
    if polarity is None:
        return gray
    light_background = float(border(gray).mean()) > 127
    wants_light_background = polarity == "dark-on-light"
    return 255 - gray if light_background != wants_light_background else gray


def otsu_threshold(gray: np.ndarray) -> int:
    """The grey level that best splits the picture into two classes (ink and paper)."""
    counts = np.bincount(gray.ravel(), minlength=256).astype(np.float64)
    levels = np.arange(256)
    weight = np.cumsum(counts)
    mass = np.cumsum(counts * levels)
    total_weight, total_mass = weight[-1], mass[-1]
    with np.errstate(divide="ignore", invalid="ignore"):
        between = (total_mass * weight - mass * total_weight) ** 2 / (
            weight * (total_weight - weight)
        )
    return int(np.nanargmax(np.where(np.isfinite(between), between, np.nan)))


def _resize(pixels: np.ndarray, width: int, height: int) -> np.ndarray:
    image = Image.fromarray(np.ascontiguousarray(pixels, dtype=np.float32))
    resized = image.resize((width, height), Image.Resampling.LANCZOS)
    return np.clip(np.asarray(resized, dtype=np.float32), 0, 255)


def _shrink(gray: np.ndarray, longest: int) -> np.ndarray:
    factor = -(-max(gray.shape) // longest)
    if factor <= 1:
        return gray
    return np.asarray(Image.fromarray(gray).reduce(factor))


def fit_mnist_centre(gray: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Crop, scale to 20/28, centre by mass: float32 (H, W) in 0..255, light on dark."""
    height, width = shape
    gray = _shrink(gray, WORKING_SCALE * max(shape))
    background = float(np.median(border(gray)))
    peak = float(gray.max())
    canvas = np.zeros(shape, dtype=np.float32)
    if peak - background < MIN_CONTRAST:
        return canvas
    floor = (background + max(otsu_threshold(gray), background)) / 2
    stretched = (gray.astype(np.float32) - floor) * (255.0 / max(peak - floor, 1.0))
    stretched = np.clip(stretched, 0, 255)
    stretched[stretched < NOISE_LEVEL] = 0
    rows, cols = np.flatnonzero(stretched.any(axis=1)), np.flatnonzero(stretched.any(axis=0))
    figure = stretched[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
    box = max(1, round(min(height, width) * MNIST_FIGURE_FRACTION))
    scale = box / max(figure.shape)
    new_h = max(1, round(figure.shape[0] * scale))
    new_w = max(1, round(figure.shape[1] * scale))
    small = _resize(figure, new_w, new_h)
    if small.max() > 0:
        small *= 255.0 / small.max()
    mass = float(small.sum())
    if mass <= 0:
        return canvas
    centre_y = float((small.sum(axis=1) * np.arange(new_h)).sum() / mass)
    centre_x = float((small.sum(axis=0) * np.arange(new_w)).sum() / mass)
    top = min(max(round(height / 2 - centre_y), 0), height - new_h)
    left = min(max(round(width / 2 - centre_x), 0), width - new_w)
    canvas[top : top + new_h, left : left + new_w] = small
    return np.rint(canvas)  # whole grey levels, like the uint8 dataset


def fit_pad_resize(gray: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Pad to the input's aspect ratio with the background, then resize: float32 0..255
    (H, W), or (H, W, C) for a colour picture (H, W, C)."""
    if gray.ndim == 3:
        return np.stack([fit_pad_resize(gray[..., c], shape) for c in range(gray.shape[2])], -1)
    height, width = shape
    h, w = gray.shape
    if w * height > h * width:
        padded_h, padded_w = max(h, round(w * height / width)), w
    else:
        padded_h, padded_w = h, max(w, round(h * width / height))
    padded = np.full((padded_h, padded_w), float(np.median(border(gray))), dtype=np.float32)
    top, left = (padded_h - h) // 2, (padded_w - w) // 2
    padded[top : top + h, left : left + w] = gray
    return _resize(padded, width, height)
