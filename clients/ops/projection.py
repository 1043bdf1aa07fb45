"""The service's 2-D maps of a version's layers (``method`` pca, tsne or umap): a map's
description, and inputs of every kind ``neighbors`` takes placed on it (``:project``), sent as
``send_in_runs`` sends them."""

from __future__ import annotations

from typing import Any

from clients._http import Request
from clients.inputs import to_items
from clients.ops._batches import Op
from clients.ops._runs import send_in_runs
from clients.results.projection import Projected, Projection
from clients.routes import model_path, verb_path


def map_params(method: str | None, layer: str | None) -> dict[str, str]:
    """The query naming a map; none for the service's default (PCA of the embedding)."""
    return {k: v for k, v in (("method", method), ("layer", layer)) if v is not None}


def projection(
    model: str, version: int | None, *, method: str | None = None, layer: str | None = None
) -> Op[Projection]:
    raw = yield Request(
        "GET", f"{model_path(model, version)}/projection", params=map_params(method, layer)
    )
    return Projection.from_json(raw)


def project(
    model: str,
    inputs: Any,
    *,
    version: int | None,
    method: str | None = None,
    layer: str | None = None,
) -> Op[Projected]:
    items = to_items(inputs)
    path = verb_path(model, version, "project")
    answers = yield from send_in_runs(model, version, path, map_params(method, layer), items)
    return Projected.concat([Projected.from_json(answer) for answer in answers])
