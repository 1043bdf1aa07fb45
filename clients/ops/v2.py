"""The Open Inference Protocol (KServe V2) REST routes under /v2."""

from __future__ import annotations

from typing import Any

import numpy as np

from clients._http import Request
from clients.errors import InputError
from clients.ops._batches import Op
from clients.results import InferResult
from clients.results.v2 import DATATYPES, datatype_of
from clients.routes import model_path


def server_metadata() -> Op:
    body = yield Request("GET", "/v2")
    return body


def live() -> Op:
    ok = yield Request("GET", "/v2/health/live", expect="status")
    return ok


def ready() -> Op:
    ok = yield Request("GET", "/v2/health/ready", expect="status")
    return ok


def model_metadata(model: str, version: int | None) -> Op:
    body = yield Request("GET", model_path(model, version, prefix="/v2"))
    return body


def model_ready(model: str, version: int | None) -> Op:
    ok = yield Request("GET", f"{model_path(model, version, prefix='/v2')}/ready", expect="status")
    return ok


def _tensor(name: str, value: Any, datatype: str | None = None) -> dict[str, Any]:
    array = np.asarray(value)
    if datatype is not None:
        array = array.astype(DATATYPES[datatype])
    elif array.dtype == np.float64:
        array = array.astype(np.float32)
    try:
        kind = datatype_of(array)
    except TypeError as exc:
        raise InputError(f"input tensor {name!r}: {exc}") from exc
    return {
        "name": name,
        "shape": list(array.shape),
        "datatype": kind,
        "data": array.ravel().tolist(),
    }


def infer(
    model: str,
    inputs: Any,
    *,
    version: int | None,
    outputs: list[str] | None,
    request_id: str | None,
) -> Op:
    """``inputs`` is ``{name: array}``, or one array for the model's first input (its name and
    datatype then come from the model's V2 metadata)."""
    if isinstance(inputs, dict):
        tensors = [_tensor(str(n), v) for n, v in inputs.items()]
    else:
        meta = yield Request("GET", model_path(model, version, prefix="/v2"), cacheable=True)
        first = meta["inputs"][0]
        tensors = [_tensor(first["name"], inputs, first.get("datatype"))]
    body: dict[str, Any] = {"inputs": tensors}
    if outputs:
        body["outputs"] = [{"name": n} for n in outputs]
    if request_id is not None:
        body["id"] = request_id
    reply = yield Request("POST", f"{model_path(model, version, prefix='/v2')}/infer", json=body)
    return InferResult.from_json(reply)
