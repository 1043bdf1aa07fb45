"""The embedding map at the tensor level: the version's fitted projection, a sample of its
test split already projected, and new inputs placed with the same axes.

The points come from the test split's index (the vectors the projection was fitted on);
their predicted classes from the ``head`` runner, batched like any request. A new input is
embedded by the ``embed`` runner, so it lands where its dataset twin's point is, to the
LiteRT copy's agreement with the SavedModel (1e-4).
"""

from __future__ import annotations

from functools import partial

import numpy as np

from core.manifest import PROBABILITIES_LAYER
from service.dataplane import DataPlane, Payload
from service.dataplane.inputs import read_batch
from service.errors import DatasetNotFound, ModelNotReady
from service.features.maps.answers import MapAxes, MapPlacement, MapPoints
from service.features.maps.pca import METHOD, Projection, fit_from_index
from service.runtime import LoadedModel
from service.runtime.indexes import CorruptIndex
from service.schemas import InputsRequest

#: Most points one ``/projection/points`` request returns (a whole MNIST test split).
MAX_POINTS = 10_000
#: Largest sample seed (numpy takes any non-negative integer; this keeps it an int32 on
#: every client).
MAX_SEED = 2**31 - 1


async def fitted(plane: DataPlane, loaded: LoadedModel) -> Projection:
    """The version's projection, fitted in the thread pool on first use and kept with the
    version (``LoadedModel.derived``)."""
    dataset = f"{loaded.manifest.dataset.name}-test"
    if dataset not in loaded.neighbor_indexes.datasets:
        raise DatasetNotFound(
            f"model {loaded.name!r} v{loaded.version} has no embedding index of "
            f"{dataset!r} to fit its projection on; `layerlens-train train` adds it"
        )
    build = partial(
        fit_from_index, loaded.neighbor_indexes, dataset, loaded.manifest.embedding_layer
    )
    try:
        return await plane.in_thread(loaded.derived.get, METHOD, build)
    except (CorruptIndex, OSError) as exc:
        raise ModelNotReady(
            f"the index of {dataset!r} for {loaded.name!r} v{loaded.version} cannot be read: {exc}"
        ) from None


def sample(size: int, num: int, seed: int) -> np.ndarray:
    """Row numbers of the map's points: all ``size`` rows when ``num`` reaches it, else
    ``num`` of them drawn without replacement by ``numpy.random.default_rng(seed)``,
    in ascending order."""
    if num >= size:
        return np.arange(size)
    return np.sort(np.random.default_rng(seed).choice(size, size=num, replace=False))


async def describe(plane: DataPlane, name: str, version: int | None) -> MapAxes:
    loaded = plane.model(name, version)
    projection = await fitted(plane, loaded)
    return MapAxes(
        loaded.name, loaded.version, METHOD, projection.layer, projection.dataset,
        projection.mean, projection.components, projection.explained,
    )  # fmt: skip


async def points(
    plane: DataPlane, name: str, version: int | None, num: int, seed: int
) -> MapPoints:
    """A sample of the fitted split, already projected."""
    loaded = plane.model(name, version)
    projection = await fitted(plane, loaded)
    rows = sample(len(projection.points), num, seed)
    index = await plane.in_thread(loaded.neighbor_indexes.get, projection.dataset)
    vectors = np.asarray(index.vectors[rows], dtype=np.float32)
    probabilities = (await plane.run_head(loaded, vectors))[PROBABILITIES_LAYER]
    return MapPoints(
        model=loaded.name,
        version=loaded.version,
        method=METHOD,
        layer=projection.layer,
        dataset=projection.dataset,
        explained=projection.explained,
        size=len(projection.points),
        seed=seed,
        indices=rows,
        labels=projection.labels[rows].astype(np.int64),
        predicted=probabilities.argmax(axis=1),
        coords=projection.points[rows].astype(np.float32),
    )


async def project(
    plane: DataPlane,
    name: str,
    version: int | None,
    *,
    payload: Payload | None = None,
    request: InputsRequest | None = None,
) -> MapPlacement:
    """Inputs of every form ``:neighbors`` takes, placed on the version's map."""
    loaded = plane.model(name, version)
    x = await read_batch(plane, loaded, payload=payload, request=request)
    projection = await fitted(plane, loaded)
    layer = loaded.manifest.embedding_layer
    embeddings = (await plane.run_outputs(loaded, x, [layer]))[layer]
    coords = projection.apply(embeddings).astype(np.float32)
    return MapPlacement(
        loaded.name, loaded.version, METHOD, projection.layer, projection.dataset, coords
    )
