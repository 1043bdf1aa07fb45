"""``:predict``, ``:embed`` and ``:head`` on a model (TF Serving style paths)."""

from __future__ import annotations

from typing import Annotated, Literal, get_args

from fastapi import APIRouter, Query, Request

from service.errors import InvalidInput
from service.responses import FastJSONResponse
from service.routes.body import read_json_object, read_payload
from service.routes.deps import Plane, Version, add_model_route
from service.routes.examples import HEAD_BODY, INSTANCES_BODY

router = APIRouter(tags=["inference"])

TOP_K_MAX = 1000
OutputValue = Literal["logits"]
ScaleValue = Literal["raw", "unit"]
FitValue = Literal["auto", "none", "mnist-centre", "pad-resize"]
#: The accepted values, also read by service.routes.queries (the fast lane).
OUTPUT_VALUES: tuple[str, ...] = get_args(OutputValue)
SCALE_VALUES: tuple[str, ...] = get_args(ScaleValue)
FIT_VALUES: tuple[str, ...] = get_args(FitValue)

TopK = Annotated[int | None, Query(ge=1, le=TOP_K_MAX, description="How many classes in top_k.")]
Output = Annotated[
    OutputValue | None, Query(description="'logits' adds the logits to each prediction.")
]
Scale = Annotated[
    ScaleValue,
    Query(description="'unit': JSON values are in [0, 1] instead of the model's range."),
]
Fit = Annotated[
    FitValue,
    Query(description="How uploaded images of another size are fitted to the input."),
]
IncludeInput = Annotated[
    bool,
    Query(
        description="Add 'input' to each prediction: the instance the model saw after "
        "decoding and fitting (e.g. 28x28 in the model's value range)."
    ),
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
    include_input: IncludeInput = False,
) -> FastJSONResponse:
    payload = await read_payload(request, max_files=plane.settings.max_batch_size)
    return FastJSONResponse(
        await plane.predict(
            model,
            version,
            payload,
            top_k=top_k,
            with_logits=output == "logits",
            scale=scale,
            fit=fit,
            include_input=include_input,
        )
    )


async def embed(
    model: str,
    version: Version,
    request: Request,
    plane: Plane,
    layer: Layer = None,
    scale: Scale = "raw",
    fit: Fit = "auto",
) -> FastJSONResponse:
    payload = await read_payload(request, max_files=plane.settings.max_batch_size)
    return FastJSONResponse(
        await plane.embed(model, version, payload, layer=layer, scale=scale, fit=fit)
    )


async def head(
    model: str,
    version: Version,
    request: Request,
    plane: Plane,
    top_k: TopK = None,
    output: Output = None,
) -> FastJSONResponse:
    body = await read_json_object(request)
    if "embeddings" not in body:
        raise InvalidInput('the JSON body must be an object with "embeddings": [[...], ...]')
    return FastJSONResponse(
        await plane.head(
            model, version, body["embeddings"], top_k=top_k, with_logits=output == "logits"
        )
    )


add_model_route(
    router,
    ":predict",
    predict,
    methods=["POST"],
    summary="Classify instances",
    openapi_extra=INSTANCES_BODY,
)
add_model_route(
    router,
    ":embed",
    embed,
    methods=["POST"],
    summary="A layer's output for instances",
    openapi_extra=INSTANCES_BODY,
)
add_model_route(
    router,
    ":head",
    head,
    methods=["POST"],
    summary="Predict from embedding-layer vectors",
    openapi_extra=HEAD_BODY,
)
