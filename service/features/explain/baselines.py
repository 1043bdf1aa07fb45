"""Baselines for integrated gradients and occlusion: what "nothing" looks like to a model.

Each is in the model's input shape and value range. ``mean`` reads the train split the
manifest records (verified by checksum when loaded), once per dataset and process.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

import numpy as np

from core.manifest import InputSpec

BaselineName = Literal["black", "blur", "mean", "noise"]
#: Standard deviation of the ``blur`` baseline, as a share of the image's shorter side.
BLUR_SIGMA_SHARE = 0.15


def black(inputs: np.ndarray, spec: InputSpec) -> np.ndarray:
    """The darkest pixel value for images; the origin (clipped to the range) for vectors,
    whose lowest value (xor's -5) is no more "nothing" than any other point."""
    low, high = spec.value_range
    value = low if spec.kind == "image" else min(max(0.0, low), high)
    return np.full_like(inputs, value)


def noise(inputs: np.ndarray, spec: InputSpec, seed: int) -> np.ndarray:
    low, high = spec.value_range
    rng = np.random.default_rng(seed)
    return rng.uniform(low, high, size=inputs.shape).astype(np.float32)


def _gaussian_kernel(sigma: float) -> np.ndarray:
    radius = max(1, int(np.ceil(3 * sigma)))
    offsets = np.arange(-radius, radius + 1, dtype=np.float64)
    kernel = np.exp(-(offsets**2) / (2 * sigma**2))
    return kernel / kernel.sum()


def _blur_axis(images: np.ndarray, kernel: np.ndarray, axis: int) -> np.ndarray:
    """Convolve along ``axis`` with edge values repeated (no dark frame leaks in)."""
    radius = len(kernel) // 2
    pad = [(0, 0)] * images.ndim
    pad[axis] = (radius, radius)
    padded = np.pad(images, pad, mode="edge")
    size = images.shape[axis]
    out = np.zeros_like(images, dtype=np.float64)
    for k, weight in enumerate(kernel):
        out += weight * np.take(padded, np.arange(k, k + size), axis=axis)
    return out


def blur(inputs: np.ndarray, spec: InputSpec) -> np.ndarray:
    """A separable Gaussian blur over the two image axes of each input."""
    if spec.kind != "image" or len(spec.shape) < 2:
        raise ValueError("the blur baseline needs image inputs")
    sigma = BLUR_SIGMA_SHARE * min(spec.shape[:2])
    kernel = _gaussian_kernel(sigma)
    out = _blur_axis(inputs.astype(np.float64), kernel, axis=1)
    return _blur_axis(out, kernel, axis=2).astype(np.float32)


@lru_cache(maxsize=8)
def _train_mean(dataset: str, data_dir: Path) -> np.ndarray:
    from core.datasets.loading import load_split

    split = load_split(dataset, "train", data_dir)
    mean = np.asarray(split.x, dtype=np.float64).mean(axis=0).astype(np.float32)
    mean.setflags(write=False)
    return mean


def train_mean(inputs: np.ndarray, dataset: str, data_dir: Path) -> np.ndarray:
    """Blocking the first time (reads the split): call it in the thread pool."""
    mean = _train_mean(dataset, data_dir)
    return np.broadcast_to(mean, inputs.shape).astype(np.float32)
