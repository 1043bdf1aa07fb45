"""Embeddings of many dataset examples, with their labels: fetch each example, then embed
them in batches. The service has no batched dataset route, so examples come one request
each (a few ms apiece on loopback); that is why the default count stays modest."""

from __future__ import annotations

from typing import Any

import numpy as np

from clients._http import Request
from clients.errors import InputError
from clients.inputs import as_instances
from clients.ops._batches import MAX_PER_REQUEST, Op
from clients.results.embedding_map import EmbeddingMap, names_for
from clients.results.prediction import Embeddings
from clients.routes import dataset_path, model_path, verb_path

SPLITS = ("train", "validation", "test")
#: Examples fetched when not told: one request each, so a few seconds on loopback.
DEFAULT_MAP_SIZE = 2000


def default_dataset(manifest: dict[str, Any]) -> str:
    """The test split of the data the model was trained on (``mnist-test`` for digits)."""
    name = (manifest.get("dataset") or {}).get("name") or "mnist"
    return f"{name}-test"


def embedding_map(
    model: str,
    dataset: str | None,
    *,
    num: int,
    start: int,
    version: int | None,
    layer: str | None,
) -> Op:
    if num < 2:
        raise InputError(f"a map needs at least 2 examples, not {num}")
    if start < 0:
        raise InputError(f"start must be 0 or more, not {start}")
    manifest = yield Request("GET", model_path(model, version), cacheable=True)
    chosen = dataset or default_dataset(manifest)
    if not chosen.endswith(tuple(f"-{s}" for s in SPLITS)):
        raise InputError(f"dataset {chosen!r} must name a split, e.g. mnist-test")
    shape = tuple(int(d) for d in manifest["input"]["shape"])
    indices = np.arange(start, start + num)
    instances, labels = [], []
    for index in indices:
        body = yield Request("GET", dataset_path(chosen, int(index)))
        instances.append(as_instances(np.asarray(body["instance"], np.float32), shape, int(index)))
        labels.append(int(body["label"]))
    batch = np.concatenate(instances)
    path = verb_path(model, version, "embed")
    parts = []
    for i in range(0, len(batch), MAX_PER_REQUEST):
        chunk = batch[i : i + MAX_PER_REQUEST].tolist()
        parts.append(Embeddings.from_json((yield Request(
            "POST", path, params={"layer": layer}, json={"instances": chunk}
        ))))  # fmt: skip
    embedded = Embeddings.concat(parts)
    label_array = np.asarray(labels, dtype=np.int64)
    trained_on = default_dataset(manifest).removesuffix("-test")
    same = chosen.rsplit("-", 1)[0] == trained_on
    return EmbeddingMap(
        model=embedded.model,
        version=embedded.version,
        layer=embedded.layer,
        dataset=chosen,
        indices=indices,
        labels=label_array,
        class_names=names_for(label_array, [str(c) for c in manifest["class_names"]], same),
        embeddings=embedded.embeddings.reshape(len(batch), -1),
    )
