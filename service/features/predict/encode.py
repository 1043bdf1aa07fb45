"""Turn output tensors into the predict response: class, label, probabilities, top-k.

Arrays stay NumPy (rows and scalars): orjson writes them directly, with no Python lists.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from service.features.predict.answers import Prediction


def encode_predictions(
    probabilities: np.ndarray,
    class_names: Sequence[str],
    *,
    top_k: int,
    logits: np.ndarray | None = None,
) -> list[Prediction]:
    k = min(top_k, probabilities.shape[1])
    # A stable sort on the negated values ranks ties by class id, like argmax.
    order = np.argsort(-probabilities, axis=1, kind="stable")[:, :k].tolist()
    predictions: list[Prediction] = []
    for i, ids in enumerate(order):
        row = probabilities[i]
        best = ids[0]
        entry: Prediction = {
            "class_id": best,
            "label": class_names[best],
            "probability": row[best],
            "probabilities": row,
            "top_k": [{"class_id": j, "label": class_names[j], "probability": row[j]} for j in ids],
        }
        if logits is not None:
            entry["logits"] = logits[i]
        predictions.append(entry)
    return predictions
