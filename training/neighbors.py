"""Nearest-neighbour indexes: a version's embedding of its dataset's train and test splits.

Made by the trainer, not the service, because the service's model volume is read-only in
compose and Kubernetes. Each index is two ``.npy`` files (float32 vectors, uint8 labels in
the task's classes) that the service memory-maps, so every worker on a machine shares one
copy in the page cache. Versions exported before indexes existed get them added in place
(``add_indexes``): files first, the manifest last, each atomically, weights untouched.
"""

from __future__ import annotations

import hashlib
import io
import logging
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import tensorflow as tf

from core import datasets
from core.manifest import (
    ENDPOINT_EMBED,
    SAVED_MODEL_DIR,
    Manifest,
    NeighborIndexRecord,
    neighbor_index_paths,
)

logger = logging.getLogger(__name__)

#: The splits indexed: the train split (what the model learnt from) and the test split.
INDEXED_SPLITS = ("train", "test")
BATCH = 2048


def _npy_bytes(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    return buffer.getvalue()


def _write_atomically(path: Path, data: bytes) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    tmp.replace(path)
    return hashlib.sha256(data).hexdigest()


def embed_split(embed: Callable[[np.ndarray], np.ndarray], x: np.ndarray) -> np.ndarray:
    rows = [embed(np.asarray(x[i : i + BATCH], dtype=np.float32)) for i in range(0, len(x), BATCH)]
    return np.concatenate(rows).astype(np.float32)


def build_indexes(
    version_dir: Path,
    manifest: Manifest,
    data: datasets.Dataset,
    *,
    relabel: Callable[[np.ndarray], np.ndarray],
    splits: Sequence[str] = INDEXED_SPLITS,
) -> Manifest:
    """Index ``splits`` of the manifest's dataset; returns the manifest with the records
    (the caller writes it)."""
    saved_model = tf.saved_model.load(str(version_dir / SAVED_MODEL_DIR))
    endpoint = getattr(saved_model, ENDPOINT_EMBED)

    def embed(x: np.ndarray) -> np.ndarray:
        outputs = endpoint(tf.constant(x))
        return next(iter(outputs.values())).numpy().reshape(len(x), -1)

    records = list(manifest.neighbor_indexes)
    for split in splits:
        ref = f"{manifest.dataset.name}-{split}"
        if manifest.neighbor_index(ref) is not None:
            continue
        part = data.split(split)
        vectors = embed_split(embed, part.x)
        labels = np.asarray(relabel(np.asarray(part.y)), dtype=np.uint8)
        vectors_path, labels_path = neighbor_index_paths(version_dir, ref)
        records.append(
            NeighborIndexRecord(
                dataset=ref,
                layer=manifest.embedding_layer,
                rows=len(vectors),
                width=vectors.shape[1],
                sha256=_write_atomically(vectors_path, _npy_bytes(vectors)),
                labels_sha256=_write_atomically(labels_path, _npy_bytes(labels)),
            )
        )
        logger.info("%s v%d: indexed %s (%d x %d)", manifest.name, manifest.version, ref,
                    *vectors.shape)  # fmt: skip
    return manifest.model_copy(update={"neighbor_indexes": tuple(records)})


def has_indexes(manifest: Manifest) -> bool:
    wanted = {f"{manifest.dataset.name}-{split}" for split in INDEXED_SPLITS}
    return wanted <= {record.dataset for record in manifest.neighbor_indexes}


def add_indexes(
    version_dir: Path, data: datasets.Dataset, *, relabel: Callable[[np.ndarray], np.ndarray]
) -> Manifest:
    """Index an exported version in place when it lacks any of ``INDEXED_SPLITS``."""
    manifest = Manifest.read(version_dir)
    if has_indexes(manifest):
        return manifest
    updated = build_indexes(version_dir, manifest, data, relabel=relabel)
    updated.write(version_dir)
    return updated
