"""``:predict``, ``:embed`` and ``:head`` on a model (TF Serving style paths).

Each route reads its query parameters and body and hands them to its adapter in
``service.adapters``, the same one the fast lane calls.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from service import adapters, codecs
from service.adapters import TOP_K_MAX, InferenceOptions
from service.routes.body import read_json_object, read_payload
from service.routes.deps import Plane, Version, add_model_route
from service.routes.openapi_bodies import HEAD_BODY, INSTANCES_BODY

router = APIRouter(tags=["inference"])

TopK = Annotated[int | None, Query(ge=1, le=TOP_K_MAX, description="How many classes in top_k.")]
Output = Annotated[
    adapters.Output | None, Query(description="'logits' adds the logits to each prediction.")
]
Scale = Annotated[
    codecs.Scale,
    Query(description="'unit': JSON values are in [0, 1] instead of the model's range."),
]
Fit = Annotated[
    codecs.Fit,
    Query(description="How uploaded images of another size are fitted to the input."),
]
Layer = Annotated[str | None, Query(description="A probe-able layer; default the embedding.")]


async def predict(
    model: str,
    version: Version,
    request: Request,
    plane: Plane,
    top_k: TopK = None,
    output: Output = None,
    scale: Scale = "raw",
    fit: Fit = "auto",
) -> Response:
    payload = await read_payload(request, max_files=plane.settings.max_batch_size)
    options = InferenceOptions(top_k=top_k, output=output, scale=scale, fit=fit)
    return (await adapters.predict(plane, model, version, payload, options)).response()


async def embed(
    model: str,
    version: Version,
    request: Request,
    plane: Plane,
    layer: Layer = None,
    scale: Scale = "raw",
    fit: Fit = "auto",
) -> Response:
    payload = await read_payload(request, max_files=plane.settings.max_batch_size)
    options = InferenceOptions(layer=layer, scale=scale, fit=fit)
    return (await adapters.embed(plane, model, version, payload, options)).response()


async def head(
    model: str,
    version: Version,
    request: Request,
    plane: Plane,
    top_k: TopK = None,
    output: Output = None,
) -> Response:
    body = await read_json_object(request)
    options = InferenceOptions(top_k=top_k, output=output)
    return (await adapters.head(plane, model, version, body, options)).response()


for _suffix, _endpoint, _summary, _body in (
    (":predict", predict, "Classify instances", INSTANCES_BODY),
    (":embed", embed, "A layer's output for instances", INSTANCES_BODY),
    (":head", head, "Predict from embedding-layer vectors", HEAD_BODY),
):
    add_model_route(
        router, _suffix, _endpoint, methods=["POST"], summary=_summary, openapi_extra=_body
    )
