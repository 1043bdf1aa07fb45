"""``:neighbors``: the nearest examples of a dataset split, for inputs in every form
``:predict`` takes, plus dataset examples (docs/explain.md)."""

# No ``from __future__ import annotations``: FastAPI must see the real ``Query`` annotations.
from typing import Annotated

from fastapi import APIRouter, Query, Request

from service.features.neighbors.options import NeighborOptions
from service.features.neighbors.search import neighbors_request
from service.http.body import read_inputs
from service.http.deps import ModelName, Plane, Version, add_model_route
from service.http.openapi_bodies import NEIGHBORS_BODY
from service.openapi import INFERENCE_ERRORS
from service.responses import FastJSONResponse
from service.schemas import InputsRequest

router = APIRouter(tags=["inference"])


async def neighbors(
    model: ModelName,
    version: Version,
    request: Request,
    plane: Plane,
    options: Annotated[NeighborOptions, Query()],
) -> FastJSONResponse:
    inputs = await read_inputs(request, InputsRequest, max_files=plane.settings.max_batch_size)
    answer = await neighbors_request(
        plane, model, version, options, payload=inputs.payload, request=inputs.request
    )
    return FastJSONResponse(answer)


add_model_route(
    router,
    ":neighbors",
    neighbors,
    methods=["POST"],
    summary="The nearest examples of a dataset split, in the embedding's space or in pixels",
    openapi_extra=NEIGHBORS_BODY,
    errors=INFERENCE_ERRORS,
)
