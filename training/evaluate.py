"""Metrics of an exported model, computed through its SavedModel endpoints.

Evaluating the exported artifact rather than the in-memory Keras model means the stored
numbers describe exactly what the service will serve.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import tensorflow as tf

from core.manifest import LOGITS_LAYER, PROBABILITIES_LAYER

HISTOGRAM_BINS = 20
EVAL_BATCH = 2048


def run_endpoint(endpoint: Any, x: np.ndarray, batch: int = EVAL_BATCH) -> dict[str, np.ndarray]:
    parts: dict[str, list[np.ndarray]] = {}
    for start in range(0, len(x), batch):
        out = endpoint(tf.constant(x[start : start + batch], dtype=tf.float32))
        for key, value in out.items():
            parts.setdefault(key, []).append(value.numpy())
    return {key: np.concatenate(values) for key, values in parts.items()}


def _cross_entropy(logits: np.ndarray, y: np.ndarray) -> float:
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    return float(-log_probs[np.arange(len(y)), y].mean())


def _histogram(values: np.ndarray) -> tuple[list[float], list[int]]:
    counts, edges = np.histogram(values, bins=HISTOGRAM_BINS, range=(0.0, 1.0))
    return [round(float(e), 4) for e in edges], [int(c) for c in counts]


def accuracy_and_loss(outputs: dict[str, np.ndarray], y: np.ndarray) -> dict[str, Any]:
    predicted = outputs[PROBABILITIES_LAYER].argmax(axis=1)
    return {
        "accuracy": float((predicted == y).mean()),
        "loss": _cross_entropy(outputs[LOGITS_LAYER], y),
        "num_examples": len(y),
    }


def test_report(outputs: dict[str, np.ndarray], y: np.ndarray, num_classes: int) -> dict:
    """Accuracy, loss, per-class accuracy, confusion matrix, confidence histograms."""
    probabilities = outputs[PROBABILITIES_LAYER]
    predicted = probabilities.argmax(axis=1)
    confidence = probabilities.max(axis=1)
    confusion = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(confusion, (y, predicted), 1)
    support = confusion.sum(axis=1)
    per_class = np.divide(np.diag(confusion), support, out=np.zeros(num_classes), where=support > 0)
    correct = predicted == y
    edges, correct_counts = _histogram(confidence[correct])
    _, incorrect_counts = _histogram(confidence[~correct])
    return {
        **accuracy_and_loss(outputs, y),
        "per_class_accuracy": [float(v) for v in per_class],
        "confusion_matrix": confusion.tolist(),
        "confidence_histogram": {
            "bin_edges": edges,
            "correct": correct_counts,
            "incorrect": incorrect_counts,
        },
    }


def cross_dataset_report(
    outputs: dict[str, np.ndarray], y: np.ndarray, num_classes: int
) -> dict[str, Any]:
    """The model run on the other dataset: how sure it is about the wrong kind of data.

    'accuracy' compares class ids as numbers, as the reports did (digit 3 vs Dress).
    """
    probabilities = outputs[PROBABILITIES_LAYER]
    predicted = probabilities.argmax(axis=1)
    confidence = probabilities.max(axis=1)
    edges, counts = _histogram(confidence)
    return {
        "accuracy": float((predicted == y).mean()),
        "mean_max_probability": float(confidence.mean()),
        "num_examples": len(y),
        "share_above_0_99": float((confidence > 0.99).mean()),
        "predicted_class_counts": np.bincount(predicted, minlength=num_classes).tolist(),
        "confidence_histogram": {"bin_edges": edges, "counts": counts},
    }


def history_report(history: dict[str, list[float]]) -> dict[str, list[float] | list[int]]:
    epochs = len(history.get("loss", []))
    report: dict[str, list[float] | list[int]] = {"epoch": list(range(1, epochs + 1))}
    for key in ("loss", "accuracy", "val_loss", "val_accuracy"):
        report[key] = [float(v) for v in history.get(key, [])]
    return report
