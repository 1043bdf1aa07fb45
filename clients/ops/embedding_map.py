"""Embeddings of many dataset examples, with their labels: fetch the examples in pages,
then embed them in batches."""

from __future__ import annotations

from typing import Any

import numpy as np

from clients._http import Request
from clients.errors import InputError
from clients.inputs import as_instances
from clients.ops._batches import MAX_PER_REQUEST, Op
from clients.ops.v1 import dataset_examples
from clients.results.embedding_map import EmbeddingMap, names_for
from clients.results.prediction import Embeddings
from clients.routes import model_path, verb_path

SPLITS = ("train", "validation", "test")
#: Examples fetched when not told.
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
    examples = yield from dataset_examples(chosen, start=start, num=num)
    if len(examples) < 2:
        raise InputError(f"{chosen} has fewer than 2 examples from index {start}")
    indices = np.arange(start, start + len(examples))
    batch = as_instances(examples.instances, shape, start)
    path = verb_path(model, version, "embed")
    parts = []
    for i in range(0, len(batch), MAX_PER_REQUEST):
        chunk = batch[i : i + MAX_PER_REQUEST].tolist()
        parts.append(Embeddings.from_json((yield Request(
            "POST", path, params={"layer": layer}, json={"instances": chunk}
        ))))  # fmt: skip
    embedded = Embeddings.concat(parts)
    label_array = examples.labels
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
