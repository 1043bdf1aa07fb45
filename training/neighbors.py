"""Nearest-neighbour indexes: a version's embedding of its dataset's train and test splits,
and the activations of the layers its recipe opts in (``ModelSpec.neighbor_layers``).

An opted-in layer's index is refused above ``MAX_INDEX_BYTES``: a conv feature map over a
whole split runs to gigabytes (digits-cnn's conv1, 28x28x32 over 60,000 images, is 6.0 GB).

Made by the trainer, not the service, because the service's model volume is read-only in
compose and Kubernetes. Each index is two ``.npy`` files (float32 vectors, uint8 labels in
the task's classes) that the service memory-maps, so every worker on a machine shares one
copy in the page cache. Versions exported before indexes existed get them added in place
(``add_indexes``): files first, the manifest last, each atomically, weights untouched.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import tensorflow as tf

from core import datasets
from core.manifest import (
    ENDPOINT_EMBED,
    ENDPOINT_LAYERS,
    SAVED_MODEL_DIR,
    Manifest,
    NeighborIndexRecord,
    neighbor_index_paths,
)
from training.artefacts import npy_bytes, write_atomically

logger = logging.getLogger(__name__)

#: The splits indexed: the train split (what the model learnt from) and the test split.
INDEXED_SPLITS = ("train", "test")
BATCH = 2048
#: Inputs per call of the ``layers`` endpoint, which returns every layer's activations
#: (about 110 KB per image for a CNN), so its batches are smaller.
LAYERS_BATCH = 256
#: The largest index of an opted-in layer: 256 MiB, room for a 784-wide layer at 60,000
#: rows (188 MB) but not for a CNN's flattened feature maps (376 MB and more).
MAX_INDEX_BYTES = 256 * 1024 * 1024


class IndexTooLarge(ValueError):
    """An opted-in layer's index would be larger than ``MAX_INDEX_BYTES``."""


def index_bytes(manifest: Manifest, layer: str, rows: int) -> int:
    """Bytes of the float32 vectors of ``rows`` examples in ``layer``'s space (the .npy
    header aside); ValueError for a layer the manifest does not list."""
    spec = next((s for s in manifest.layers if s.name == layer), None)
    if spec is None:
        known = ", ".join(s.name for s in manifest.layers)
        raise ValueError(f"{manifest.name} has no layer {layer!r}; its layers: {known}")
    return rows * math.prod(spec.output_shape) * 4


def check_size(manifest: Manifest, layer: str, rows: int) -> None:
    """Refuse an opted-in layer whose index of ``rows`` examples would pass the cap."""
    size = index_bytes(manifest, layer, rows)
    if layer != manifest.embedding_layer and size > MAX_INDEX_BYTES:
        shape = "x".join(map(str, next(s for s in manifest.layers if s.name == layer).output_shape))
        raise IndexTooLarge(
            f"{manifest.name}: an index of layer {layer!r} ({shape} per example) over {rows} "
            f"examples would take {size:,} bytes, above the cap of {MAX_INDEX_BYTES:,} bytes "
            f"(training.neighbors.MAX_INDEX_BYTES); take {layer!r} out of the recipe's "
            "neighbor_layers or opt in a smaller layer"
        )


def embed_split(
    embed: Callable[[np.ndarray], np.ndarray], x: np.ndarray, batch: int = BATCH
) -> np.ndarray:
    rows = [embed(np.asarray(x[i : i + batch], dtype=np.float32)) for i in range(0, len(x), batch)]
    return np.concatenate(rows).astype(np.float32)


def layer_runner(
    saved_model: Any, manifest: Manifest, layer: str
) -> Callable[[np.ndarray], np.ndarray]:
    """x -> (N, width) flattened outputs of ``layer``: the ``embed`` endpoint for the
    embedding, the ``layers`` endpoint (every layer at once, so smaller batches) else."""
    name = ENDPOINT_EMBED if layer == manifest.embedding_layer else ENDPOINT_LAYERS
    endpoint = getattr(saved_model, name)

    def run(x: np.ndarray) -> np.ndarray:
        outputs = endpoint(tf.constant(x))
        out = next(iter(outputs.values())) if name == ENDPOINT_EMBED else outputs[layer]
        return out.numpy().reshape(len(x), -1)

    return run


def layer_vectors(saved_model: Any, manifest: Manifest, layer: str, x: np.ndarray) -> np.ndarray:
    """(N, width) float32 outputs of ``layer`` for ``x``, in batches."""
    batch = BATCH if layer == manifest.embedding_layer else LAYERS_BATCH
    return embed_split(layer_runner(saved_model, manifest, layer), x, batch)


def build_indexes(
    version_dir: Path,
    manifest: Manifest,
    data: datasets.Dataset,
    *,
    relabel: Callable[[np.ndarray], np.ndarray],
    splits: Sequence[str] = INDEXED_SPLITS,
    layers: Sequence[str] = (),
) -> Manifest:
    """Index ``splits`` of the manifest's dataset in the embedding's space and each of
    ``layers``' (those not indexed yet); returns the manifest with the records (the caller
    writes it). Every layer's size is checked before anything is computed."""
    wanted = [(f"{manifest.dataset.name}-{split}", split, layer)
              for layer in (manifest.embedding_layer, *layers) for split in splits]  # fmt: skip
    missing = [w for w in wanted if manifest.neighbor_index(w[0], w[2]) is None]
    for _ref, split, layer in missing:
        check_size(manifest, layer, len(data.split(split).x))
    if not missing:
        return manifest
    saved_model = tf.saved_model.load(str(version_dir / SAVED_MODEL_DIR))
    records = list(manifest.neighbor_indexes)
    for ref, split, layer in missing:
        part = data.split(split)
        vectors = layer_vectors(saved_model, manifest, layer, part.x)
        labels = np.asarray(relabel(np.asarray(part.y)), dtype=np.uint8)
        vectors_path, labels_path = neighbor_index_paths(version_dir, ref, layer)
        vectors_npy = npy_bytes(vectors)
        records.append(
            NeighborIndexRecord(
                dataset=ref,
                layer=layer,
                rows=len(vectors),
                width=vectors.shape[1],
                sha256=write_atomically(vectors_path, vectors_npy),
                labels_sha256=write_atomically(labels_path, npy_bytes(labels)),
                size_bytes=len(vectors_npy),
            )
        )
        logger.info("%s v%d: indexed %s in %s (%d x %d, %d bytes)", manifest.name,
                    manifest.version, ref, layer, *vectors.shape, len(vectors_npy))  # fmt: skip
    return manifest.model_copy(update={"neighbor_indexes": tuple(records)})


def has_indexes(manifest: Manifest, layers: Sequence[str] = ()) -> bool:
    """Whether both splits are indexed in the embedding's space and each of ``layers``'."""
    return all(
        manifest.neighbor_index(f"{manifest.dataset.name}-{split}", layer) is not None
        for layer in (manifest.embedding_layer, *layers)
        for split in INDEXED_SPLITS
    )


def add_indexes(
    version_dir: Path,
    data: datasets.Dataset,
    *,
    relabel: Callable[[np.ndarray], np.ndarray],
    layers: Sequence[str] = (),
) -> Manifest:
    """Index an exported version in place when it lacks any of ``INDEXED_SPLITS`` in the
    embedding's space or one of ``layers``' (the recipe's ``neighbor_layers``)."""
    manifest = Manifest.read(version_dir)
    if has_indexes(manifest, layers):
        return manifest
    updated = build_indexes(version_dir, manifest, data, relabel=relabel, layers=layers)
    updated.write(version_dir)
    return updated
