"""Dataset examples' embeddings with their true classes: the data behind a 2-D map."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from clients.projection import Projection, project


@dataclass(frozen=True)
class EmbeddingMap:
    """``embeddings`` is (N, E) for dataset examples ``indices``, whose true classes are
    ``labels``; ``class_names[label]`` names them."""

    model: str
    version: int
    layer: str
    dataset: str
    indices: np.ndarray
    labels: np.ndarray
    class_names: list[str]
    embeddings: np.ndarray

    def __len__(self) -> int:
        return len(self.embeddings)

    def project(self, method: str = "pca") -> Projection:
        """The embeddings in 2-D (``Projection.coords`` is (N, 2))."""
        return project(self.embeddings, method)

    def to_json(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "version": self.version,
            "layer": self.layer,
            "dataset": self.dataset,
            "indices": self.indices.tolist(),
            "labels": self.labels.tolist(),
            "class_names": list(self.class_names),
            "embeddings": self.embeddings.tolist(),
        }


def names_for(labels: np.ndarray, model_classes: list[str], same_dataset: bool) -> list[str]:
    """The model's class names when the labels are its classes (same dataset, every label
    in range); else the labels as numbers (e.g. the 3-class fashion-coarse model on the
    10-class Fashion-MNIST labels)."""
    top = int(labels.max(initial=-1)) + 1
    if same_dataset and top <= len(model_classes):
        return list(model_classes)
    return [str(i) for i in range(top)]
