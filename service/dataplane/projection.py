"""The embedding map at the tensor level: the version's fitted projection, a sample of its
test split already projected, and new inputs placed with the same axes.

The points come from the test split's index (the vectors the projection was fitted on);
their predicted classes from the ``head`` runner, batched like any request. A new input is
embedded by the ``embed`` runner, so it lands where its dataset twin's point is, to the
LiteRT copy's agreement with the SavedModel (1e-4).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from core.manifest import PROBABILITIES_LAYER
from service.errors import DatasetNotFound, ModelNotReady
from service.explain.neighbors import CorruptIndex
from service.explain.projection import METHOD, Projection
from service.runtime import LoadedModel

if TYPE_CHECKING:
    from service.dataplane.plane import DataPlane

#: Most points one ``/projection/points`` request returns (a whole MNIST test split).
MAX_POINTS = 10_000
#: Largest sample seed (numpy takes any non-negative integer; this keeps it an int32 on
#: every client).
MAX_SEED = 2**31 - 1


async def fitted(plane: DataPlane, loaded: LoadedModel) -> Projection:
    """The version's projection, fitted in the thread pool on first use."""
    shelf = loaded.projection
    if not shelf.available:
        raise DatasetNotFound(
            f"model {loaded.name!r} v{loaded.version} has no embedding index of "
            f"{shelf.dataset!r} to fit its projection on; `layerlens-train train` adds it"
        )
    try:
        return await plane.in_thread(shelf.get)
    except (CorruptIndex, OSError) as exc:
        raise ModelNotReady(
            f"the index of {shelf.dataset!r} for {loaded.name!r} v{loaded.version} "
            f"cannot be read: {exc}"
        ) from None


def sample(size: int, num: int, seed: int) -> np.ndarray:
    """Row numbers of the map's points: all ``size`` rows when ``num`` reaches it, else
    ``num`` of them drawn without replacement by ``numpy.random.default_rng(seed)``,
    in ascending order."""
    if num >= size:
        return np.arange(size)
    return np.sort(np.random.default_rng(seed).choice(size, size=num, replace=False))


def _head(loaded: LoadedModel, projection: Projection) -> dict[str, Any]:
    return {
        "model": loaded.name,
        "version": loaded.version,
        "method": METHOD,
        "layer": projection.layer,
        "dataset": projection.dataset,
    }


async def describe(plane: DataPlane, loaded: LoadedModel) -> dict[str, Any]:
    projection = await fitted(plane, loaded)
    return {"model": loaded.name, "version": loaded.version, **projection.describe()}


async def points(plane: DataPlane, loaded: LoadedModel, num: int, seed: int) -> dict[str, Any]:
    projection = await fitted(plane, loaded)
    rows = sample(len(projection.points), num, seed)
    index = await plane.in_thread(loaded.neighbor_indexes.get, projection.dataset)
    vectors = np.asarray(index.vectors[rows], dtype=np.float32)
    probabilities = (await plane.run_head(loaded, vectors))[PROBABILITIES_LAYER]
    return {
        **_head(loaded, projection),
        "explained": projection.explained,
        "size": len(projection.points),
        "seed": seed,
        "indices": rows,
        "labels": projection.labels[rows].astype(np.int64),
        "predicted": probabilities.argmax(axis=1),
        "coords": projection.points[rows].astype(np.float32),
    }


async def project(plane: DataPlane, loaded: LoadedModel, x: np.ndarray) -> dict[str, Any]:
    projection = await fitted(plane, loaded)
    layer = loaded.manifest.embedding_layer
    embeddings = (await plane.run_outputs(loaded, x, [layer]))[layer]
    coords = projection.apply(embeddings).astype(np.float32)
    return {**_head(loaded, projection), "coords": coords}
