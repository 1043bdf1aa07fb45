"""Model catalogue, stored metrics and weights."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from service.responses import FastJSONResponse
from service.routes.deps import ModelName, Plane, Version, add_model_route

router = APIRouter(tags=["models"])


@router.get(
    "/v1/models",
    summary="Every loaded model and its versions",
    description="`models`: every loaded model; `training`: the models a running trainer "
    "will still train (each is served once it lands; none of them holds readiness).",
)
async def list_models(plane: Plane) -> FastJSONResponse:
    return FastJSONResponse(await plane.in_thread(plane.model_summaries))


async def model_metadata(model: ModelName, version: Version, plane: Plane) -> FastJSONResponse:
    return FastJSONResponse(plane.metadata(model, version))


async def model_metrics(
    model: ModelName,
    version: Version,
    plane: Plane,
    kind: Annotated[
        str | None,
        Query(description="test, train, validation, history, cross-dataset or sweep."),
    ] = None,
) -> FastJSONResponse:
    return FastJSONResponse(await plane.evaluations(model, version, kind))


async def model_weights(
    model: ModelName,
    version: Version,
    plane: Plane,
    layer: Annotated[
        str | None,
        Query(description="A Dense or Conv2D layer; default the first Dense layer."),
    ] = None,
) -> FastJSONResponse:
    return FastJSONResponse(plane.weights(model, version, layer))


add_model_route(router, "", model_metadata, methods=["GET"], summary="A model's manifest")
add_model_route(router, "/metrics", model_metrics, methods=["GET"], summary="Stored evaluations")
add_model_route(
    router,
    "/weights",
    model_weights,
    methods=["GET"],
    summary="A Dense or Conv2D layer's kernel",
    description="`shape` is `[inputs, units]` for a Dense layer and "
    "`[height, width, channels, filters]` for a Conv2D layer; `weights` nests the same way.",
)
