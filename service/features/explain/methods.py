"""Attribution methods over plain arrays, independent of TensorFlow and of HTTP.

The gradient methods take ``grad(x, classes) -> (f, df/dx)``; occlusion is split into the
rows to score and the reduction of their scores, since its rows go through the batcher.
Every method builds all of its model rows first and makes one call, so a request costs one
batched model call, however many inputs it holds.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import numpy as np

from service.runtime.gradient_paths import adaptive_schedule

Rule = Literal["adaptive", "trapezoid", "gauss-legendre"]
GradFn = Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]


@dataclass(frozen=True, slots=True)
class PathAttribution:
    """Integrated gradients of one input: the map, the two ends and f along the path."""

    attributions: np.ndarray
    value: float
    baseline_value: float
    alphas: np.ndarray
    path_values: np.ndarray

    @property
    def completeness_gap(self) -> float:
        """|sum of attributions - (f(x) - f(baseline))|: zero for an exact path integral."""
        total = float(self.attributions.astype(np.float64).sum())
        return abs(total - (self.value - self.baseline_value))


def path_rule(steps: int, rule: Rule) -> tuple[np.ndarray, np.ndarray]:
    """Alphas in [0, 1] and their quadrature weights (which sum to 1).

    The trapezoid rule's alphas are ``0, 1/steps, ..., 1``, a pixel sweep's; Gauss-Legendre
    takes ``steps`` interior nodes, exact for polynomials of degree ``2 * steps - 1``.
    """
    if rule == "trapezoid":
        alphas = np.linspace(0.0, 1.0, steps + 1)
        weights = np.full(steps + 1, 1.0 / steps)
        weights[[0, -1]] /= 2
        return alphas, weights
    nodes, weights = np.polynomial.legendre.leggauss(steps)
    return (nodes + 1) / 2, weights / 2


def path_rows(steps: int, rule: Rule) -> int:
    """Model rows one input's path costs (Gauss-Legendre adds the two ends)."""
    return steps + 2 if rule == "gauss-legendre" else steps + 1


def _rows_along(inputs: np.ndarray, baselines: np.ndarray, alphas: np.ndarray) -> np.ndarray:
    """``baseline + alpha (x - baseline)`` for each input at its own alphas (one row each)."""
    shape = (*alphas.shape, *([1] * (inputs.ndim - 1)))
    a = alphas.astype(np.float32).reshape(shape)
    return (baselines[:, None] + a * (inputs - baselines)[:, None]).reshape(-1, *inputs.shape[1:])


def _segment_errors(alphas: np.ndarray, f: np.ndarray, slopes: np.ndarray) -> np.ndarray:
    """Per segment, |observed change in f - the trapezoid's estimate of it|: the segment's
    share of the completeness gap (``slopes`` are df/dalpha at the points)."""
    widths = np.diff(alphas, axis=-1)
    trapezoid = widths * (slopes[..., :-1] + slopes[..., 1:]) / 2
    return np.abs(np.diff(f, axis=-1) - trapezoid)


def adaptive_integrated_gradients(
    grad: GradFn,
    inputs: np.ndarray,
    baselines: np.ndarray,
    classes: np.ndarray,
    *,
    steps: int,
) -> list[PathAttribution]:
    """Integrated gradients with ``steps + 1`` points placed where the path needs them.

    A ReLU network's score along the path is smooth between kinks and can turn over a
    short stretch (a saturating softmax), which a uniform grid undersamples. So: a few
    uniform segments, then rounds of bisecting, for each input, the segments whose
    trapezoid estimate misses the observed change in f the most. Each round is one batched
    call for all inputs; the map is the trapezoid rule over the final, uneven grid.
    """
    n = len(inputs)
    start, takes = adaptive_schedule(steps)
    delta = (inputs - baselines).reshape(n, -1).astype(np.float64)
    alphas = np.tile(np.linspace(0.0, 1.0, start + 1), (n, 1))

    def evaluate(at: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        f, g = grad(_rows_along(inputs, baselines, at), np.repeat(classes, at.shape[1]))
        g = g.reshape(n, at.shape[1], -1).astype(np.float64)
        return f.reshape(n, -1).astype(np.float64), g

    def slopes_of(g: np.ndarray) -> np.ndarray:
        return np.einsum("npd,nd->np", g, delta)

    f, g = evaluate(alphas)
    # The gradients stay in the order they were computed (``chunks``) and are put in path
    # order once at the end: each round moves only the small per-point arrays (alphas, f,
    # slopes and each point's place in ``chunks``), never every gradient so far.
    chunks, slopes = [g], slopes_of(g)
    computed = np.tile(np.arange(alphas.shape[1]), (n, 1))
    for take in takes:
        worst = np.argsort(-_segment_errors(alphas, f, slopes), axis=1, kind="stable")[:, :take]
        mids = (np.take_along_axis(alphas, worst, 1) + np.take_along_axis(alphas, worst + 1, 1)) / 2
        f_mid, g_mid = evaluate(mids)
        new = np.arange(alphas.shape[1], alphas.shape[1] + take)
        alphas = np.concatenate([alphas, mids], axis=1)
        order = np.argsort(alphas, axis=1, kind="stable")
        alphas = np.take_along_axis(alphas, order, 1)
        f = np.take_along_axis(np.concatenate([f, f_mid], axis=1), order, 1)
        slopes = np.take_along_axis(np.concatenate([slopes, slopes_of(g_mid)], axis=1), order, 1)
        computed = np.take_along_axis(
            np.concatenate([computed, np.tile(new, (n, 1))], axis=1), order, 1
        )
        chunks.append(g_mid)
    g = np.take_along_axis(np.concatenate(chunks, axis=1), computed[..., None], 1)
    widths = np.diff(alphas, axis=1)
    weights = np.zeros_like(alphas)
    weights[:, :-1] += widths / 2
    weights[:, 1:] += widths / 2
    mean_gradient = np.einsum("np,npd->nd", weights, g)
    return [
        PathAttribution(
            attributions=(delta[i] * mean_gradient[i]).reshape(inputs.shape[1:]).astype(np.float32),
            value=float(f[i, -1]),
            baseline_value=float(f[i, 0]),
            alphas=alphas[i],
            path_values=f[i],
        )
        for i in range(n)
    ]


def integrated_gradients(
    grad: GradFn,
    inputs: np.ndarray,
    baselines: np.ndarray,
    classes: np.ndarray,
    *,
    steps: int,
    rule: Rule,
) -> list[PathAttribution]:
    """Along ``baseline + alpha (x - baseline)`` for every input, in one ``grad`` call
    (two for the adaptive rule)."""
    if rule == "adaptive":
        return adaptive_integrated_gradients(grad, inputs, baselines, classes, steps=steps)
    alphas, weights = path_rule(steps, rule)
    with_ends = np.concatenate([[0.0], alphas, [1.0]]) if rule == "gauss-legendre" else alphas
    shape = (-1, *([1] * (inputs.ndim - 1)))
    a = with_ends.astype(np.float32).reshape(shape)
    pairs = zip(inputs, baselines, strict=True)
    rows = np.concatenate([b[None] + a * (x - b)[None] for x, b in pairs])
    f, g = grad(rows, np.repeat(classes, len(with_ends)))
    n = len(with_ends)
    results = []
    for i, (x, b) in enumerate(zip(inputs, baselines, strict=True)):
        fi, gi = f[i * n : (i + 1) * n], g[i * n : (i + 1) * n].astype(np.float64)
        inner = slice(1, -1) if rule == "gauss-legendre" else slice(None)
        mean_gradient = np.tensordot(weights, gi[inner], axes=1)
        results.append(
            PathAttribution(
                attributions=((x - b) * mean_gradient).astype(np.float32),
                value=float(fi[-1]),
                baseline_value=float(fi[0]),
                alphas=alphas,
                path_values=fi[inner],
            )
        )
    return results


def saliency(grad: GradFn, inputs: np.ndarray, classes: np.ndarray) -> tuple[np.ndarray, ...]:
    """(f, |df/dx|) per input."""
    f, g = grad(inputs, classes)
    return f, np.abs(g)


def smoothgrad(
    grad: GradFn,
    inputs: np.ndarray,
    classes: np.ndarray,
    *,
    samples: int,
    sigma: float,
    seed: int,
) -> tuple[np.ndarray, np.ndarray]:
    """(f, mean |df/dx| over ``samples`` copies with Gaussian noise of std ``sigma``).

    The noise is drawn once per request from ``seed``, so the same request answers the
    same map. ``f`` is the clean input's value (the first row of each input's group).
    """
    rng = np.random.default_rng(seed)
    noise = rng.normal(0.0, sigma, size=(samples, *inputs.shape[1:])).astype(np.float32)
    noise[0] = 0.0  # the clean input, for f(x)
    rows = np.concatenate([x[None] + noise for x in inputs])
    f, g = grad(rows, np.repeat(classes, samples))
    f = f.reshape(len(inputs), samples)[:, 0]
    g = np.abs(g).reshape(len(inputs), samples, *inputs.shape[1:]).mean(axis=1)
    return f, g


def occlusion_windows(shape: tuple[int, ...], patch: int, stride: int) -> list[tuple[slice, ...]]:
    """Every patch position (squares over the last two axes, runs over a vector)."""
    axes = shape[-2:] if len(shape) >= 2 else shape

    def starts(size: int) -> list[int]:
        p = min(patch, size)
        last = size - p
        return sorted({*range(0, last + 1, stride), last})

    if len(axes) == 1:
        return [(slice(s, s + min(patch, axes[0])),) for s in starts(axes[0])]
    h, w = axes
    return [
        (slice(r, r + min(patch, h)), slice(c, c + min(patch, w)))
        for r in starts(h)
        for c in starts(w)
    ]


def occlusion_inputs(
    inputs: np.ndarray, baselines: np.ndarray, windows: list[tuple[slice, ...]]
) -> np.ndarray:
    """Per input: the input itself, then one copy per window with that patch replaced by the
    baseline's values. ``(len(inputs) * (len(windows) + 1), ...)``."""
    rows = []
    for x, b in zip(inputs, baselines, strict=True):
        rows.append(x[None])
        for window in windows:
            occluded = x.copy()
            occluded[(..., *window)] = b[(..., *window)]
            rows.append(occluded[None])
    return np.concatenate(rows)


def occlusion_attributions(
    f: np.ndarray, windows: list[tuple[slice, ...]], shape: tuple[int, ...], n_inputs: int
) -> tuple[np.ndarray, np.ndarray]:
    """(f(x), attributions) from the scores of ``occlusion_inputs``: each value's
    attribution is the mean drop of f over the patches that cover it. No gradients."""
    per_input = len(windows) + 1
    f = np.asarray(f, dtype=np.float64)
    values, attributions = [], []
    for i in range(n_inputs):
        fi = f[i * per_input : (i + 1) * per_input]
        total = np.zeros(shape, dtype=np.float64)
        count = np.zeros(shape, dtype=np.float64)
        for drop, window in zip(fi[0] - fi[1:], windows, strict=True):
            total[(..., *window)] += drop
            count[(..., *window)] += 1
        values.append(fi[0])
        attributions.append(total / np.maximum(count, 1))
    return np.asarray(values), np.asarray(attributions, dtype=np.float32)


def occlusion_rows(shape: tuple[int, ...], patch: int, stride: int) -> int:
    return len(occlusion_windows(shape, patch, stride)) + 1
