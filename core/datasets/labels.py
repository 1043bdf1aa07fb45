"""Relabelling Fashion-MNIST into the reports' three coarse classes (an imbalanced task)."""

from __future__ import annotations

import numpy as np

from core.datasets.facts import FASHION_CLASSES

COARSE_FASHION_CLASSES = ("Top", "Bottom", "Accessories")

#: Fine Fashion-MNIST class name -> coarse class name, as the reports grouped them.
COARSE_FASHION_GROUPS: dict[str, str] = {
    "T-shirt/top": "Top",
    "Pullover": "Top",
    "Dress": "Top",
    "Coat": "Top",
    "Shirt": "Top",
    "Trouser": "Bottom",
    "Sandal": "Bottom",
    "Sneaker": "Bottom",
    "Ankle boot": "Bottom",
    "Bag": "Accessories",
}

_FINE_TO_COARSE = np.array(
    [COARSE_FASHION_CLASSES.index(COARSE_FASHION_GROUPS[name]) for name in FASHION_CLASSES],
    dtype=np.uint8,
)


def coarse_fashion_labels(y: np.ndarray) -> np.ndarray:
    """Map Fashion-MNIST class ids (0-9) to coarse ids (0 Top, 1 Bottom, 2 Accessories)."""
    labels = np.asarray(y)
    if not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(f"Fashion-MNIST labels must be integers, got dtype {labels.dtype}")
    if labels.size and (labels.min() < 0 or labels.max() >= len(FASHION_CLASSES)):
        raise ValueError(
            f"Fashion-MNIST labels must be in 0..{len(FASHION_CLASSES) - 1}, "
            f"got values in {labels.min()}..{labels.max()}"
        )
    return _FINE_TO_COARSE[labels]
