"""Neighbour agreement: is a prediction whose nearest training examples disagree more often
wrong, and does agreement stay low on the wrong kind of data where the softmax says 1.0?

For each test image (and each image of the cross dataset) the ``K`` nearest training
examples in the version's embedding (its ``-train`` index) vote; the report buckets the
predictions by how many of the ``K`` neighbours carry the predicted class. Stored as the
``agreement`` evaluation, one row per dataset.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import tensorflow as tf

from core.manifest import (
    EMBEDDING_LAYER,
    PROBABILITIES_LAYER,
    SAVED_MODEL_DIR,
    Manifest,
    neighbor_index_paths,
)
from core.neighbors import search
from training import evaluate

K = 8
#: Predictions at least this sure count as "confident" (the reports' "very sure").
CONFIDENT = 0.99


def _embed(endpoint: Any, x: np.ndarray) -> np.ndarray:
    outputs = evaluate.run_endpoint(endpoint, x.astype(np.float32))
    return next(iter(outputs.values())).reshape(len(x), -1)


def _neighbour_votes(
    queries: np.ndarray, version_dir: Path, train_ref: str, layer: str = EMBEDDING_LAYER
) -> np.ndarray:
    """(N, K) labels of each query's K nearest training examples in ``layer``'s space (the
    embedding layer's name: an imported model's is the user's layer name)."""
    vectors_path, labels_path = neighbor_index_paths(version_dir, train_ref, layer)
    vectors = np.load(vectors_path, mmap_mode="r")
    labels = np.load(labels_path)
    norms = np.einsum("ij,ij->i", vectors, vectors)
    found, _distances = search(queries, vectors, norms, k=K, metric="euclidean")
    return labels[found]


def agreement_report(
    predicted: np.ndarray,
    confidence: np.ndarray,
    neighbour_labels: np.ndarray,
    y: np.ndarray | None,
) -> dict[str, Any]:
    """Buckets by the number of neighbours (0..K) that carry the predicted class; with
    labels ``y``, the accuracy in each (the cross dataset has none that match)."""
    agreeing = (neighbour_labels == predicted[:, None]).sum(axis=1)
    correct = None if y is None else predicted == y
    buckets = []
    for count in range(K + 1):
        rows = agreeing == count
        n = int(rows.sum())
        bucket: dict[str, Any] = {
            "agreeing": count,
            "count": n,
            "mean_confidence": float(confidence[rows].mean()) if n else None,
        }
        if correct is not None:
            bucket["accuracy"] = float(correct[rows].mean()) if n else None
        buckets.append(bucket)
    majority = agreeing > K // 2
    confident = confidence >= CONFIDENT
    summary: dict[str, Any] = {
        "k": K,
        "num_examples": len(predicted),
        "majority_agrees": float(majority.mean()),
        "confident_share": float(confident.mean()),
        "majority_agrees_when_confident": (
            float(majority[confident].mean()) if confident.any() else None
        ),
        "buckets": buckets,
    }
    if correct is not None:
        summary["accuracy"] = float(correct.mean())
        summary["accuracy_when_majority_agrees"] = (
            float(correct[majority].mean()) if majority.any() else None
        )
        summary["accuracy_when_majority_disagrees"] = (
            float(correct[~majority].mean()) if (~majority).any() else None
        )
    return summary


def agreement_reports(
    manifest: Manifest,
    version_dir: Path,
    tests: dict[str, tuple[np.ndarray, np.ndarray | None]],
) -> dict[str, dict[str, Any]]:
    """Dataset reference -> report, for each of ``tests`` (reference -> (x, labels or
    None)); the version must have its train split indexed (``training.neighbors``)."""
    loaded = tf.saved_model.load(str(version_dir / SAVED_MODEL_DIR))
    train_ref = f"{manifest.dataset.name}-train"
    reports = {}
    for ref, (x, y) in tests.items():
        probabilities = evaluate.run_endpoint(loaded.predict, x.astype(np.float32))[
            PROBABILITIES_LAYER
        ]
        votes = _neighbour_votes(
            _embed(loaded.embed, x), version_dir, train_ref, manifest.embedding_layer
        )
        reports[ref] = agreement_report(
            probabilities.argmax(axis=1), probabilities.max(axis=1), votes, y
        )
    return reports
