"""The answers of the map routes, typed (the SDK's ``clients.results.projection`` and
``clients.results.embedding_map`` are checked against them by a test). ``TypedDict``s: a
PCA map carries its axes, a stored t-SNE or UMAP map its sample and placement rule."""

from __future__ import annotations

from typing import Any, NotRequired, TypedDict

import numpy as np


class MapRef(TypedDict):
    """Which map: the version, its method, the layer mapped and the dataset it was fitted on
    (every map answer starts with these)."""

    model: str
    version: int
    method: str
    layer: str
    dataset: str


class MapAxes(MapRef):
    """``GET .../projection``: how the map was made, and every map the version can draw."""

    mean: NotRequired[np.ndarray]
    components: NotRequired[np.ndarray]
    explained: NotRequired[np.ndarray]
    points: NotRequired[int]
    seed: NotRequired[int]
    placement: NotRequired[dict[str, Any]]
    library: NotRequired[str]
    params: NotRequired[dict[str, Any]]
    seconds: NotRequired[float]
    cpu_seconds: NotRequired[float]
    maps: list[dict[str, str]]


class MapPoints(MapRef):
    """``GET .../projection/points``: a sample of the map's points."""

    explained: NotRequired[np.ndarray]
    size: int
    seed: int
    indices: np.ndarray
    labels: np.ndarray
    predicted: np.ndarray
    coords: np.ndarray
    ood: NotRequired[list[dict[str, Any]]]
    """With ``ood=true``: each point's out-of-distribution verdict (``service.features.ood``)."""


class MapPlacement(MapRef):
    """``:project``: inputs placed on the map (on a stored map, with the nearest example)."""

    coords: np.ndarray
    nearest: NotRequired[np.ndarray]
    distance: NotRequired[np.ndarray]
