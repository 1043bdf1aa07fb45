"""A Dense or Conv2D layer's kernel, for weight pictures (SEEDS.md question 10)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from service.features.weights.kernels import layer_kernel
from service.http.deps import ModelName, Plane, Version, add_model_route
from service.responses import FastJSONResponse

router = APIRouter(tags=["models"])


async def model_weights(
    model: ModelName,
    version: Version,
    plane: Plane,
    layer: Annotated[
        str | None,
        Query(description="A Dense or Conv2D layer; default the first Dense layer."),
    ] = None,
) -> FastJSONResponse:
    return FastJSONResponse(layer_kernel(plane.model(model, version), layer))


add_model_route(
    router,
    "/weights",
    model_weights,
    methods=["GET"],
    summary="A Dense or Conv2D layer's kernel",
    description="`shape` is `[inputs, units]` for a Dense layer and "
    "`[height, width, channels, filters]` for a Conv2D layer; `weights` nests the same way.",
)
