"""The answers of the map routes, typed (the SDK's ``clients.results.embedding_map`` and
``clients.results.projection`` are checked against them by a test)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True, slots=True)
class MapAxes:
    """``GET .../projection``: ``coords = (embedding - mean) @ components.T``."""

    model: str
    version: int
    method: str
    layer: str
    dataset: str
    mean: np.ndarray
    components: np.ndarray
    explained: np.ndarray


@dataclass(frozen=True, slots=True)
class MapPoints:
    """``GET .../projection/points``: a sample of the fitted split, already projected."""

    model: str
    version: int
    method: str
    layer: str
    dataset: str
    explained: np.ndarray
    size: int
    seed: int
    indices: np.ndarray
    labels: np.ndarray
    predicted: np.ndarray
    coords: np.ndarray


@dataclass(frozen=True, slots=True)
class MapPlacement:
    """``:project``: inputs placed on the map."""

    model: str
    version: int
    method: str
    layer: str
    dataset: str
    coords: np.ndarray
