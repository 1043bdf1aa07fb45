"""Synthetic far-out inputs: what no trained model should call in-distribution.

Made from the input contract alone (shape and value range), seeded, so the trainer can
choose a version's default method on validation-vs-proxies (with ``proxies``, which
transform the validation split's own images) and evaluate on
test-vs-synthetic without any other dataset.
"""

from __future__ import annotations

import numpy as np

from core.manifest import InputSpec

#: The kinds, in the order their rows are stacked.
KINDS = ("uniform-noise", "gaussian-noise", "blank", "inverted")


def synthetic(
    spec: InputSpec, base: np.ndarray, per_kind: int, *, seed: int
) -> dict[str, np.ndarray]:
    """``per_kind`` inputs of each of ``KINDS`` in ``spec``'s range: uniform noise over the
    range, Gaussian noise around its middle (sd a quarter of the range, clipped), blank
    (every value at the range's low end: an empty canvas), and the first ``per_kind`` of
    ``base`` inverted (``low + high - x``)."""
    low, high = spec.value_range
    shape = (per_kind, *spec.shape)
    rng = np.random.default_rng(seed)
    middle, spread = (low + high) / 2, (high - low) / 4
    gaussian = np.clip(rng.normal(middle, spread, size=shape), low, high)
    inverted = low + high - np.asarray(base[:per_kind], dtype=np.float32).reshape(-1, *spec.shape)
    return {
        "uniform-noise": rng.uniform(low, high, size=shape).astype(np.float32),
        "gaussian-noise": gaussian.astype(np.float32),
        "blank": np.full(shape, low, dtype=np.float32),
        "inverted": inverted.astype(np.float32),
    }


#: Transformations of in-distribution images that no longer show what the model learned:
#: heavy blur (the figure melts into a blob), patch shuffle (strokes cut up and rearranged).
PROXY_KINDS = ("blurred", "shuffled")
#: Side of the blur's square window, and of the shuffled patches, as a share of the image.
BLUR_SHARE, PATCH_SHARE = 0.25, 0.25


def _box_blur(images: np.ndarray, side: int) -> np.ndarray:
    """(N, H, W) images averaged over a ``side`` x ``side`` window (zero padded), by two
    1-D passes of summed-area differences."""
    out = np.asarray(images, dtype=np.float64)
    for axis in (1, 2):
        padded = np.pad(out, [(0, 0)] + [(side // 2, side - 1 - side // 2) if a == axis
                                          else (0, 0) for a in (1, 2)])  # fmt: skip
        total = np.cumsum(np.insert(padded, 0, 0.0, axis=axis), axis=axis)
        length = out.shape[axis]
        out = (np.take(total, range(side, side + length), axis=axis)
               - np.take(total, range(length), axis=axis)) / side  # fmt: skip
    return out


def _shuffle_patches(images: np.ndarray, side: int, rng: np.random.Generator) -> np.ndarray:
    """(N, H, W) images cut into ``side``-pixel tiles (the whole tiles only), each image's
    tiles put back in a random order."""
    n, height, width = images.shape
    rows, cols = height // side, width // side
    out = np.array(images, dtype=np.float32)
    tiles = out[:, : rows * side, : cols * side].reshape(n, rows, side, cols, side)
    tiles = tiles.transpose(0, 1, 3, 2, 4).reshape(n, rows * cols, side, side)
    for i in range(n):
        tiles[i] = tiles[i][rng.permutation(rows * cols)]
    back = tiles.reshape(n, rows, cols, side, side).transpose(0, 1, 3, 2, 4)
    out[:, : rows * side, : cols * side] = back.reshape(n, rows * side, cols * side)
    return out


def proxies(
    spec: InputSpec, base: np.ndarray, per_kind: int, *, seed: int
) -> dict[str, np.ndarray]:
    """``per_kind`` of each of ``PROXY_KINDS`` made from the first rows of ``base`` (the
    validation split): near-distribution stand-ins for the out-of-distribution data a
    model meets, unlike noise, which every method finds easy. Images only (an empty dict
    for vectors); the blur is stretched back to each image's own peak, as an upload is."""
    if spec.kind != "image":
        return {}
    x = np.asarray(base[:per_kind], dtype=np.float32).reshape(-1, *spec.shape)
    height = spec.shape[0]
    blurred = _box_blur(x, max(2, round(BLUR_SHARE * height)))
    peak = x.max(axis=(1, 2), keepdims=True)
    blurred *= np.divide(peak, blurred.max(axis=(1, 2), keepdims=True),
                         out=np.zeros_like(peak, dtype=np.float64),
                         where=blurred.max(axis=(1, 2), keepdims=True) > 0)  # fmt: skip
    rng = np.random.default_rng(seed)
    shuffled = _shuffle_patches(x, max(2, round(PATCH_SHARE * height)), rng)
    return {"blurred": blurred.astype(np.float32), "shuffled": shuffled}
