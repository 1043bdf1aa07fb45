"""``:neighbors`` at the tensor level: embed the inputs, search a version's index, vote.

The inputs' embeddings (or activations of another indexed layer, ``layer=``) come from the
model's runners (batched like any request). The search goes through a runner of its own per
index, space and metric: with batching on, the queries of concurrent requests are searched
together in the thread pool and shed under overload like a model's queue. Requests are
searched in buckets of how many neighbours they ask for (``KEPT_NEIGHBORS``: up to 8, 32,
100): each search keeps its bucket's number of the nearest, and each request takes its own
``k`` of them; the search is chunked so it never builds more than one block of (queries x
split rows) distances at a time. Euclidean searches of float vectors first rule most rows
out with two projected lower bounds (``core.neighbors_pruned``; one projection per index,
shared by the buckets), the same answer for a tenth of the memory traffic.
"""

from __future__ import annotations

import numpy as np

from core.manifest import PROBABILITIES_LAYER
from core.neighbors import vote
from core.neighbors_pruned import LazyPrunedIndex, exact_search
from service.dataplane import DataPlane, Payload
from service.dataplane.inputs import read_batch
from service.errors import (
    DatasetNotFound,
    InvalidInput,
    ModelNotReady,
    PayloadTooLarge,
    UnknownLayer,
)
from service.features.neighbors.answers import Neighbor, NeighborResult, Neighbors, Vote
from service.features.neighbors.options import NeighborOptions, kept_neighbors
from service.runtime import LoadedModel
from service.runtime.indexes import CorruptIndex, NeighborIndex, split_pixels
from service.runtime.runners import Runner
from service.schemas import InputsRequest


async def neighbors_request(
    plane: DataPlane,
    name: str,
    version: int | None,
    options: NeighborOptions,
    *,
    payload: Payload | None = None,
    request: InputsRequest | None = None,
) -> Neighbors:
    """The k nearest examples of a split for each input of a payload or JSON request."""
    loaded = plane.model(name, version)
    x = await read_batch(plane, loaded, payload=payload, request=request)
    return await neighbors(plane, loaded, x, options)


async def neighbors(
    plane: DataPlane, loaded: LoadedModel, x: np.ndarray, options: NeighborOptions
) -> Neighbors:
    manifest = loaded.manifest
    limit = plane.settings.max_neighbor_queries
    if len(x) > limit:
        raise PayloadTooLarge(f"{len(x)} inputs sent; at most {limit} per :neighbors request")
    dataset = options.dataset or f"{manifest.dataset.name}-train"
    shelf = loaded.neighbor_indexes
    if dataset not in shelf.datasets:
        offered = ", ".join(shelf.datasets) or "none (run `layerlens-train train` to add them)"
        raise DatasetNotFound(
            f"model {loaded.name!r} v{loaded.version} has no neighbour index of {dataset!r}; "
            f"indexed: {offered}"
        )
    layer = _indexed_layer(loaded, dataset, options)
    index = shelf.opened(dataset, layer) or await _open_index(plane, loaded, dataset, layer)

    if options.k > index.record.rows:
        raise InvalidInput(f"k is {options.k} but {dataset} has only {index.record.rows} examples")
    wanted = [PROBABILITIES_LAYER] if options.space == "pixel" else [PROBABILITIES_LAYER, layer]
    outputs = await plane.run_outputs(loaded, x, wanted)
    predicted = outputs[PROBABILITIES_LAYER].argmax(axis=1)
    if options.space == "embedding":
        queries = outputs[layer].reshape(len(x), -1)  # a layer may be a feature map
        rows, norms = index.vectors, index.squared_norms
    else:
        pixels = await plane.in_thread(split_pixels, dataset, plane.settings.data_dir)
        if pixels.shape[1:] != tuple(manifest.input.shape):
            raise InvalidInput(f"{dataset} inputs have another shape than the model's")
        queries, rows, norms = x, pixels, None
    searcher = _searcher(plane, loaded, dataset, layer, options, rows, norms)
    nearest = await searcher.submit(np.ascontiguousarray(queries, dtype=np.float32))
    found = nearest["indices"][:, : options.k]
    distances = nearest["distances"][:, : options.k]
    names = manifest.class_names
    results = []
    for guess, where, far in zip(predicted.tolist(), found, distances, strict=True):
        labels = index.labels[where]
        winner, share = vote(labels, len(names))
        results.append(
            NeighborResult(
                predicted=guess,
                predicted_label=names[guess],
                neighbors=[
                    Neighbor(int(i), int(c), names[c], float(d))
                    for i, c, d in zip(where, labels, far, strict=True)
                ],
                vote=Vote(winner, names[winner], share),
                agrees=winner == guess,
            )
        )
    return Neighbors(
        model=loaded.name,
        version=loaded.version,
        dataset=dataset,
        space=options.space,
        layer=layer if options.space == "embedding" else None,
        metric=options.metric,
        k=options.k,
        results=results,
    )


async def _open_index(
    plane: DataPlane, loaded: LoadedModel, dataset: str, layer: str
) -> NeighborIndex:
    """The first use of an index: checked against its manifest and mapped, in a thread."""
    try:
        return await plane.in_thread(loaded.neighbor_indexes.get, dataset, layer)
    except (CorruptIndex, OSError) as exc:
        raise ModelNotReady(
            f"the neighbour index of {dataset!r} ({layer}) for {loaded.name!r} "
            f"v{loaded.version} cannot be read: {exc}"
        ) from None


def _indexed_layer(loaded: LoadedModel, dataset: str, options: NeighborOptions) -> str:
    """The layer whose index of ``dataset`` is read: the one asked for (space=embedding
    only), else the embedding layer (whose index also carries a pixel search's labels)."""
    embedding = loaded.manifest.embedding_layer
    if options.layer is None or options.layer == embedding:
        return embedding
    if options.space != "embedding":
        raise InvalidInput("layer applies to space=embedding only; leave it out for space=pixel")
    indexed = loaded.neighbor_indexes.layers(dataset)
    if options.layer not in indexed:
        raise UnknownLayer(
            f"model {loaded.name!r} v{loaded.version} has no neighbour index of {dataset!r} in "
            f"layer {options.layer!r}; indexed layers: {', '.join(indexed)}. A model opts other "
            "layers in with its recipe's neighbor_layers, then `layerlens-train train` adds "
            "their indexes (docs/explain.md)"
        )
    return options.layer


def _searcher(
    plane: DataPlane,
    loaded: LoadedModel,
    dataset: str,
    layer: str,
    options: NeighborOptions,
    rows: np.ndarray,
    norms: np.ndarray | None,
) -> Runner:
    """The runner searching ``rows`` for this layer, space and metric, keeping enough
    neighbours for ``options.k``, made on first use."""
    where = layer if options.space == "embedding" else "pixel"
    kept = kept_neighbors(options.k)
    key = (dataset, where, options.space, options.metric, kept)
    shelf = loaded.neighbor_indexes
    searcher = shelf.searchers.get(key)
    if searcher is None:
        k, metric = min(kept, len(rows)), options.metric
        pruned = (
            shelf.pruned.setdefault((dataset, where), LazyPrunedIndex(rows, norms))
            if metric == "euclidean"
            else None
        )

        def run(queries: np.ndarray) -> dict[str, np.ndarray]:
            index = pruned.get() if pruned is not None else None
            indices, distances = exact_search(queries, rows, norms, index, k=k, metric=metric)
            return {"indices": indices, "distances": distances}

        searcher = shelf.searchers.setdefault(
            key,
            plane.feature_runner(
                loaded,
                run,
                what=f"neighbours of {dataset} ({where}, {options.metric})",
                on_batch=plane.telemetry.search_batch_size.labels(loaded.name).observe,
            ),
        )
    return searcher
