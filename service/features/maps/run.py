"""The maps at the tensor level: a version's map of a layer (``method`` = pca, tsne, umap), a
sample of its test split already on it, and new inputs placed on it.

The points come from the test split's index; their predicted classes from the ``head``
runner on the embedding index's rows, batched like any request. A new input is run to the
layer by the same runners as ``:embed``, so a test example lands where its own point is: on
PCA to the LiteRT copy's agreement with the SavedModel (1e-4), on a stored map by
``core.maps.place``, whose nearest example is then the example itself.
"""

from __future__ import annotations

import numpy as np

from core.manifest import PROBABILITIES_LAYER
from core.maps import METHODS, sample
from service.dataplane import DataPlane, Payload
from service.dataplane.inputs import read_batch
from service.errors import DatasetNotFound, InvalidInput, MapNotFound, ModelNotReady, UnknownLayer
from service.features.maps.answers import MapAxes, MapPlacement, MapPoints
from service.features.maps.projections import LinearProjection, Projection, ProjectionShelf
from service.runtime import LoadedModel
from service.runtime.indexes import CorruptIndex
from service.schemas import InputsRequest

#: Most points one ``/projection/points`` request returns (a whole MNIST test split).
MAX_POINTS = 10_000
#: Largest sample seed (numpy takes any non-negative integer; this keeps it an int32 on
#: every client).
MAX_SEED = 2**31 - 1
#: What builds a missing map or index.
BUILD_COMMAND = "`layerlens-train train` (which `make run` runs in the background)"


def shelf(loaded: LoadedModel) -> ProjectionShelf:
    """The version's maps, kept with it while it is loaded (``LoadedModel.derived``)."""
    manifest = loaded.manifest

    def build() -> ProjectionShelf:
        return ProjectionShelf(
            loaded.neighbor_indexes,
            f"{manifest.dataset.name}-test",
            manifest.embedding_layer,
            version_dir=loaded.path,
            stored=manifest.maps,
        )

    return loaded.derived.get("maps", build)


def _check(loaded: LoadedModel, method: str, layer: str | None) -> str:
    """The layer asked for (default: the embedding), or the error that says why it cannot
    be drawn: 400 for a method or layer that does not exist, 404 for a map the version lacks."""
    maps = shelf(loaded)
    if method not in METHODS:
        raise InvalidInput(f"unknown map method {method!r}; choose one of: {', '.join(METHODS)}")
    layer = layer or loaded.manifest.embedding_layer
    names = [spec.name for spec in loaded.manifest.layers]
    if layer not in names:
        drawn = [c["layer"] for c in maps.choices() if c["method"] == method]
        raise UnknownLayer(
            f"model {loaded.name!r} has no layer {layer!r}; layers with a {method} map: "
            f"{', '.join(drawn) or 'none'} (its layers: {', '.join(names)})"
        )
    if not maps.available:
        raise DatasetNotFound(
            f"model {loaded.name!r} v{loaded.version} has no embedding index of "
            f"{maps.dataset!r} to draw a map from; {BUILD_COMMAND} adds it"
        )
    if not maps.has(method, layer):
        have = ", ".join(f"{c['method']} of {c['layer']}" for c in maps.choices())
        raise MapNotFound(
            f"model {loaded.name!r} v{loaded.version} has no {method} map of {layer!r} "
            f"(it has: {have}); {BUILD_COMMAND} fits the maps its recipe opts in "
            "(training.recipes: map_methods, map_layers)"
        )
    return layer


async def fitted(
    plane: DataPlane, loaded: LoadedModel, method: str = "pca", layer: str | None = None
) -> Projection:
    """The version's map, fitted or mapped in the thread pool on first use."""
    layer = _check(loaded, method, layer)
    try:
        return await plane.in_thread(shelf(loaded).get, method, layer)
    except (CorruptIndex, OSError) as exc:
        raise ModelNotReady(
            f"the {method} map of {layer!r} for {loaded.name!r} v{loaded.version} "
            f"cannot be read: {exc}"
        ) from None


def _head(loaded: LoadedModel, projection: Projection) -> MapPlacement:
    return {  # type: ignore[typeddict-item]  # the caller adds the coordinates
        "model": loaded.name,
        "version": loaded.version,
        "method": projection.method,
        "layer": projection.layer,
        "dataset": projection.dataset,
    }


async def describe(
    plane: DataPlane, name: str, version: int | None, method: str = "pca", layer: str | None = None
) -> MapAxes:
    loaded = plane.model(name, version)
    projection = await fitted(plane, loaded, method, layer)
    return {  # type: ignore[typeddict-item]  # describe() names the method's own keys
        "model": loaded.name,
        "version": loaded.version,
        **projection.describe(),
        "maps": shelf(loaded).choices(),
    }


async def points(
    plane: DataPlane,
    name: str,
    version: int | None,
    num: int,
    seed: int,
    method: str = "pca",
    layer: str | None = None,
    *,
    ood: bool = False,
    ood_method: str | None = None,
) -> MapPoints:
    """A sample of the map's points, already placed; with ``ood`` (or an ``ood_method``),
    each point's out-of-distribution verdict, computed by the registry's ``ood`` answer
    field from the head's outputs and the example's embedding, as an answer of ``:predict``
    is."""
    loaded = plane.model(name, version)
    parameters = {"ood_method": ood_method} if ood_method is not None else {}
    verdict = None
    if ood or ood_method is not None:
        verdict = plane.outputs.field("ood")
        verdict.check(loaded, parameters)
    projection = await fitted(plane, loaded, method, layer)
    chosen = sample(len(projection.points), num, seed)
    rows = np.asarray(projection.rows[chosen], dtype=np.int64)
    embedding = loaded.manifest.embedding_layer
    index = await plane.in_thread(loaded.neighbor_indexes.get, projection.dataset, embedding)
    vectors = np.asarray(index.vectors[rows], dtype=np.float32)
    outputs = await plane.run_head(loaded, vectors)
    answer: MapPoints = {**_head(loaded, projection)}  # type: ignore[typeddict-item]
    if isinstance(projection, LinearProjection):
        answer["explained"] = projection.explained
    answer.update({
        "size": len(projection.points),
        "seed": seed,
        "indices": rows,
        "labels": np.asarray(projection.labels[chosen]).astype(np.int64),
        "predicted": outputs[PROBABILITIES_LAYER].argmax(axis=1),
        "coords": np.asarray(projection.points[chosen], dtype=np.float32),
    })  # fmt: skip
    if verdict is not None:
        # The verdict reads the examples' vectors of the layers it needs (the embedding, and
        # the layer kNN searches): the split's neighbour indexes hold them, or the
        # verdict's own files (a pooled kNN space).
        layers = {embedding: vectors}
        layers.update(await plane.in_thread(verdict.stored_rows, loaded, projection.dataset, rows))
        for needed in verdict.needs(loaded):
            if needed not in outputs and needed not in layers:
                layers[needed] = await plane.in_thread(
                    _index_rows, loaded, projection.dataset, needed, rows
                )
        answer["ood"] = await verdict.annotate(plane, loaded, {**outputs, **layers}, parameters)
    return answer


async def project(
    plane: DataPlane,
    name: str,
    version: int | None,
    *,
    payload: Payload | None = None,
    request: InputsRequest | None = None,
    method: str = "pca",
    layer: str | None = None,
) -> MapPlacement:
    """Inputs of every form ``:neighbors`` takes, placed on the version's map."""
    loaded = plane.model(name, version)
    x = await read_batch(plane, loaded, payload=payload, request=request)
    projection = await fitted(plane, loaded, method, layer)
    vectors = (await plane.run_outputs(loaded, x, [projection.layer]))[projection.layer]
    placed = await plane.in_thread(projection.apply, vectors)
    answer = _head(loaded, projection)
    answer["coords"] = placed["coords"].astype(np.float32)
    if "nearest" in placed:
        answer["nearest"] = placed["nearest"].astype(np.int64)
        answer["distance"] = placed["distance"].astype(np.float32)
    return answer


def _index_rows(loaded: LoadedModel, dataset: str, layer: str, rows: np.ndarray) -> np.ndarray:
    """Blocking: ``rows`` of ``dataset``'s neighbour index in ``layer``'s space."""
    try:
        index = loaded.neighbor_indexes.get(dataset, layer)
    except KeyError:
        raise ModelNotReady(
            f"model {loaded.name!r} v{loaded.version} has no neighbour index of {dataset} in "
            f"layer {layer!r}, which its out-of-distribution verdict searches; "
            "`layerlens-train train` builds it"
        ) from None
    return np.asarray(index.vectors[rows], dtype=np.float32)
