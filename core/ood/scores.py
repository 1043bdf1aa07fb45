"""Out-of-distribution scores from one run's outputs, in plain numpy.

Sign convention, the one place it is stated: **a higher score means a more unusual input**.
An input is ``"out"`` when its score is above the version's calibrated threshold.

- ``knn``: the Euclidean distance from the L2-normalised embedding to its ``k``-th nearest
  L2-normalised training embedding (Sun et al., "Out-of-distribution detection with deep
  nearest neighbors", 2022). Normalising makes the distance depend only on the angle, which
  is what separates classes in a ReLU embedding, not on the activation's scale.
- ``energy``: ``-T * logsumexp(logits / T)`` (Liu et al., "Energy-based out-of-distribution
  detection", 2020); ``T = 1``. In-distribution inputs have large logits, so low energy.
  For a convolutional network the space may be its last feature map averaged over the
  spatial positions (``spatial_mean``): the penultimate space of the ResNets in Sun et
  al., which pool there, where our small CNNs flatten.
- ``msp``: ``1 - max softmax`` (Hendrycks and Gimpel, 2017), the baseline.
- ``mahalanobis``: the smallest squared Mahalanobis distance from the embedding to a class
  mean under one covariance shared by the classes (Lee et al., 2018), fitted on the train
  split's embedding.

Shared by the trainer (calibration, evaluation) and the service (the verdict in answers) so
both score an input the same way.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from core.neighbors import search

Method = Literal["knn", "mahalanobis", "energy", "msp"]
#: Every method, in the order that breaks ties when choosing a version's default.
METHODS: tuple[Method, ...] = ("knn", "mahalanobis", "energy", "msp")
#: Neighbours for ``knn``: Sun et al.'s choice for a 50,000-image training set.
KNN_K = 50
ENERGY_TEMPERATURE = 1.0


def spatial_mean(vectors: np.ndarray, channels: int) -> np.ndarray:
    """(N, channels): each row of a (flattened, channels-last) feature map averaged over
    its positions."""
    rows = np.asarray(vectors, dtype=np.float32).reshape(len(vectors), -1, channels)
    return rows.mean(axis=1)


def _logsumexp(x: np.ndarray, axis: int) -> np.ndarray:
    top = x.max(axis=axis, keepdims=True)
    return (top + np.log(np.exp(x - top).sum(axis=axis, keepdims=True))).squeeze(axis)


def energy(logits: np.ndarray, temperature: float = ENERGY_TEMPERATURE) -> np.ndarray:
    """(N,) energy of each row of (N, C) logits."""
    z = np.asarray(logits, dtype=np.float64)
    return -temperature * _logsumexp(z / temperature, axis=1)


def msp(logits: np.ndarray) -> np.ndarray:
    """(N,) one minus the largest softmax probability of each row of (N, C) logits."""
    z = np.asarray(logits, dtype=np.float64)
    return 1.0 - np.exp(z.max(axis=1) - _logsumexp(z, axis=1))


def knn(
    embedding: np.ndarray,
    train: np.ndarray,
    train_squared_norms: np.ndarray | None = None,
    *,
    k: int = KNN_K,
) -> np.ndarray:
    """(N,) distance of each normalised embedding to its ``k``-th nearest normalised
    training embedding. ``train`` may be a memory-mapped (rows, width) array of raw
    vectors: the cosine search ranks by angle, and for unit vectors ``|a - b|`` is
    ``sqrt(2 (1 - cos))``."""
    queries = np.asarray(embedding, dtype=np.float32).reshape(len(embedding), -1)
    k = min(k, len(train))
    _found, cosine = search(queries, train, train_squared_norms, k=k, metric="cosine")
    return np.sqrt(np.maximum(2.0 * cosine[:, k - 1].astype(np.float64), 0.0))


def fit_mahalanobis(embedding: np.ndarray, labels: np.ndarray, num_classes: int) -> np.ndarray:
    """The class means and the shared precision in one (C + D, D) array: rows ``:C`` the
    means, rows ``C:`` the pseudo-inverse of the pooled within-class covariance (a ReLU
    embedding has dead units, so the covariance is singular)."""
    z = np.asarray(embedding, dtype=np.float64).reshape(len(embedding), -1)
    means = np.zeros((num_classes, z.shape[1]))
    centred = np.empty_like(z)
    for c in range(num_classes):
        rows = labels == c
        if rows.any():
            means[c] = z[rows].mean(axis=0)
            centred[rows] = z[rows] - means[c]
    covariance = centred.T @ centred / max(len(z), 1)
    return np.concatenate([means, np.linalg.pinv(covariance, hermitian=True)])


def mahalanobis(embedding: np.ndarray, params: np.ndarray, num_classes: int) -> np.ndarray:
    """(N,) smallest squared Mahalanobis distance to a class mean (``fit_mahalanobis``)."""
    z = np.asarray(embedding, dtype=np.float64).reshape(len(embedding), -1)
    means, precision = np.asarray(params[:num_classes]), np.asarray(params[num_classes:])
    diff = z[:, None, :] - means[None, :, :]
    return np.einsum("ncd,ncd->nc", diff @ precision, diff).min(axis=1)  # BLAS for the product


def threshold(validation_scores: np.ndarray, keep: float) -> float:
    """The score below which ``keep`` of the validation split falls: an input scoring
    above it is ``"out"``, so ``1 - keep`` of in-distribution inputs are flagged."""
    return float(np.quantile(np.asarray(validation_scores, dtype=np.float64), keep))


def check_method(method: str) -> Method:
    """``method`` if it is one of ``METHODS``, else ValueError naming them."""
    if method not in METHODS:
        raise ValueError(f"unknown ood method {method!r}; expected one of: {', '.join(METHODS)}")
    return method  # type: ignore[return-value]
