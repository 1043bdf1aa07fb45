"""The 2-D maps of a layer, the pure maths the trainer and the service share.

- ``principal_axes``: PCA (fitted by the service on first use, and by the trainer to store
  PCA's cluster figure beside the stored maps', on the same rows).
- ``sample``: which rows of a split a ``(num, seed)`` pair names, for the maps the trainer
  fits and for ``/projection/points``, so both pick the same rows.
- ``place``: how a new input lands on a t-SNE or UMAP map (neither is a function of its
  input that can be applied to a new point as PCA's axes can): a weighted mean of the map
  coordinates of its ``PLACE_K`` nearest map examples in the layer's own space, with weights
  ``1 / d**2``. Deterministic and one matrix-vector product per input. An input whose vector
  is one of the examples' (a test example, to the LiteRT copy's 1e-4) gets almost all the
  weight of that example and lands on its point (``docs/architecture.md``, "The maps").
- ``class_share``: the "separate clusters" measure: the share of each point's ``k`` nearest
  other points that have its class, averaged over the points.
"""

from __future__ import annotations

from typing import Literal, get_args

import numpy as np

from core.neighbors import search

Method = Literal["pca", "tsne", "umap"]
METHODS: tuple[Method, ...] = get_args(Method)
#: Methods the trainer fits and stores (PCA is fitted by the service on first use).
STORED_METHODS: tuple[Method, ...] = ("tsne", "umap")
#: Axes of a map.
AXES = 2
#: Map examples a new point is placed among.
PLACE_K = 10
#: Neighbours of the cluster measure.
CLUSTER_K = 10
#: Queries whose distances to every point are computed at once (bounds memory to ~40 MB
#: at 5,000 points).
_CHUNK = 1024


def principal_axes(vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(mean, components (2, E), explained (2,)) of ``vectors`` (rows, E): the top two
    eigenvectors of the float64 covariance, each with its largest-|loading| entry positive,
    so every process that fits the same rows gets the same axes."""
    rows, width = vectors.shape
    if rows < 2:
        raise ValueError(f"a projection needs at least 2 rows, got {rows}")
    data = np.asarray(vectors, dtype=np.float64)
    mean = data.mean(axis=0)
    centred = data - mean
    covariance = centred.T @ centred / (rows - 1)
    values, vectors_ = np.linalg.eigh(covariance)  # ascending
    top = min(AXES, width)
    order = np.argsort(values)[::-1][:top]
    components = np.zeros((AXES, width))
    components[:top] = vectors_[:, order].T
    biggest = np.abs(components).argmax(axis=1)
    signs = np.sign(components[np.arange(AXES), biggest])
    signs[signs == 0] = 1.0
    components *= signs[:, None]
    total = float(np.trace(covariance))
    explained = np.zeros(AXES)
    if total > 0:
        explained[:top] = np.clip(values[order], 0.0, None) / total
    return mean, components, explained


def sample(size: int, num: int, seed: int) -> np.ndarray:
    """Row numbers: all ``size`` rows when ``num`` reaches it, else ``num`` of them drawn
    without replacement by ``numpy.random.default_rng(seed)``, in ascending order."""
    if num >= size:
        return np.arange(size)
    return np.sort(np.random.default_rng(seed).choice(size, size=num, replace=False))


def place(
    vectors: np.ndarray, map_vectors: np.ndarray, map_coords: np.ndarray, *, k: int = PLACE_K
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(coords (N, 2), nearest map example (N,), its distance (N,)) of ``vectors`` (N, W)
    placed among ``map_vectors`` (rows, W) whose map coordinates are ``map_coords``."""
    indices, distances = search(vectors, map_vectors, None, k=k, metric="euclidean")
    weights = 1.0 / np.maximum(distances.astype(np.float64), 1e-12) ** 2
    weights /= weights.sum(axis=1, keepdims=True)
    chosen = np.asarray(map_coords, dtype=np.float64)[indices]  # (N, k, 2)
    coords = np.einsum("nk,nkd->nd", weights, chosen)
    return coords, indices[:, 0], distances[:, 0]


def class_share(points: np.ndarray, labels: np.ndarray, k: int = CLUSTER_K) -> float:
    """The mean over points of the share of their ``k`` nearest other points (euclidean, in
    float64) with their label. Exact; ties broken by row order.

    Each row's k-th smallest distance is found by a partial sort, not a full one (the
    trainer scores three 10,000-point spaces per map: a full sort cost 8 s of CPU each):
    the nearest are every point closer than it, then the lowest-numbered points at exactly
    that distance, which is what a stable sort's first ``k`` would be."""
    data = np.asarray(points, dtype=np.float64).reshape(len(points), -1)
    labels = np.asarray(labels)
    rows = len(data)
    if rows < 2:
        raise ValueError(f"the cluster measure needs at least 2 points, got {rows}")
    k = min(k, rows - 1)
    norms = np.einsum("ij,ij->i", data, data)
    hits = 0
    for start in range(0, rows, _CHUNK):
        block = data[start : start + _CHUNK]
        d = norms[start : start + _CHUNK, None] - 2 * block @ data.T + norms[None, :]
        d[np.arange(len(block)), np.arange(start, start + len(block))] = np.inf
        kth = np.partition(d, k - 1, axis=1)[:, k - 1 : k]
        same = labels[None, :] == labels[start : start + _CHUNK, None]
        closer = d < kth
        hits += int((closer & same).sum())
        tied = d == kth
        wanted = k - closer.sum(axis=1, keepdims=True)  # >= 1: the k-th itself is tied
        hits += int((tied & same & (np.cumsum(tied, axis=1) <= wanted)).sum())
    return hits / (rows * k)
