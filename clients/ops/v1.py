"""The service's own routes (/v1), in TF Serving's style."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from clients._http import Request
from clients.errors import InputError
from clients.inputs import Fit, Scale
from clients.ops._batches import MAX_PER_REQUEST, Op, batches
from clients.results import (
    CellExamples,
    DatasetExample,
    DatasetExamples,
    Embeddings,
    Metrics,
    ModelMetadata,
    ModelSummary,
    PredictResult,
    Weights,
)
from clients.routes import dataset_path, model_path, verb_path


def models() -> Op:
    body = yield Request("GET", "/v1/models")
    return [ModelSummary.from_json(m) for m in body.get("models", [])]


def training() -> Op[list[str]]:
    body = yield Request("GET", "/v1/models")
    return [str(name) for name in body.get("training", [])]


def metadata(model: str, version: int | None) -> Op:
    body = yield Request("GET", model_path(model, version))
    return ModelMetadata.from_json(body)


def predict(
    model: str,
    inputs: Any,
    *,
    version: int | None,
    top_k: int | None,
    logits: bool,
    scale: Scale | None = None,
    fit: Fit | None = None,
    ood: bool = False,
    ood_method: str | None = None,
) -> Op:
    params = {
        "top_k": top_k,
        "output": "logits" if logits else None,
        "scale": scale,
        "fit": fit,
        "ood": "true" if ood else None,
        "ood_method": ood_method,
    }
    path = verb_path(model, version, "predict")
    parts = []
    for batch in (yield from batches(model, version, inputs)):
        body = yield batch.request(path, params)
        parts.append(PredictResult.from_json(body))
    return PredictResult.concat(parts)


def embed(
    model: str,
    inputs: Any,
    *,
    version: int | None,
    layer: str | None,
    scale: Scale | None = None,
    fit: Fit | None = None,
) -> Op:
    path = verb_path(model, version, "embed")
    parts = []
    for batch in (yield from batches(model, version, inputs)):
        body = yield batch.request(path, {"layer": layer, "scale": scale, "fit": fit})
        parts.append(Embeddings.from_json(body))
    return Embeddings.concat(parts)


def head(
    model: str, embeddings: Any, *, version: int | None, top_k: int | None, logits: bool = False
) -> Op:
    if isinstance(embeddings, Embeddings):
        embeddings = embeddings.embeddings
    try:
        array = np.atleast_2d(np.asarray(embeddings, dtype=np.float32))
    except (TypeError, ValueError) as exc:
        raise InputError(f"embeddings must be numbers, one row per instance: {exc}") from exc
    array = array.reshape(len(array), -1)
    body = yield Request(
        "POST",
        verb_path(model, version, "head"),
        params={"top_k": top_k, "output": "logits" if logits else None},
        json={"embeddings": array.tolist()},
    )
    return PredictResult.from_json(body)


def metrics(model: str, *, version: int | None, kind: str | None) -> Op:
    body = yield Request("GET", f"{model_path(model, version)}/metrics", params={"kind": kind})
    return Metrics.from_json(body)


def cell_examples(
    model: str,
    true: int,
    predicted: int,
    *,
    version: int | None,
    start: int,
    num: int,
    instances: bool = False,
) -> Op:
    params = {"true": int(true), "predicted": int(predicted), "start": start, "num": num,
              "instances": "true" if instances else None}  # fmt: skip
    body = yield Request("GET", f"{model_path(model, version)}/metrics/examples", params=params)
    return CellExamples.from_json(body)


def weights(model: str, *, version: int | None, layer: str | None) -> Op:
    body = yield Request("GET", f"{model_path(model, version)}/weights", params={"layer": layer})
    return Weights.from_json(body)


def dataset_example(dataset: str, index: int) -> Op:
    body = yield Request("GET", dataset_path(dataset, index))
    return DatasetExample.from_json(body)


def dataset_examples(dataset: str, *, start: int, num: int) -> Op:
    """Pages of at most ``MAX_PER_REQUEST`` examples, until ``num`` or the split's end."""
    if num < 1:
        raise InputError(f"num must be at least 1, not {num}")
    if start < 0:
        raise InputError(f"start must be 0 or more, not {start}")
    pages: list[dict[str, Any]] = []
    fetched = 0
    while fetched < num:
        ask = min(MAX_PER_REQUEST, num - fetched)
        params = {"start": start + fetched, "num": ask}
        page = yield Request("GET", dataset_path(dataset), params=params)
        pages.append(page)
        got = len(page["labels"])
        fetched += got
        if got < ask or start + fetched >= int(page["size"]):
            break
    return DatasetExamples.from_pages(pages)


def reload(api_key: str | None) -> Op:
    headers = {"X-API-Key": api_key} if api_key else {}
    body = yield Request("POST", "/v1/admin/reload", headers=headers)
    return body


def prometheus_metrics() -> Op:
    text = yield Request("GET", "/metrics", expect="text")
    return text


def alphas_json(
    alphas: Sequence[float] | None, start: float, stop: float, num: int
) -> dict[str, Any] | list[float]:
    if alphas is not None:
        return [float(a) for a in alphas]
    return {"start": float(start), "stop": float(stop), "num": int(num)}
