"""The embedding map: the projection a version fitted, a sample of its test split already
projected, and ``:project`` placing new inputs on the same axes (docs/page.md, Map)."""

# No ``from __future__ import annotations``: FastAPI must see the real ``Query`` annotations.
from typing import Annotated

from fastapi import APIRouter, Query, Request

from service.features.maps import run
from service.features.maps.run import MAX_POINTS, MAX_SEED
from service.http.body import read_inputs
from service.http.deps import ModelName, Plane, Version, add_model_route
from service.http.openapi_bodies import PROJECT_BODY
from service.openapi import INFERENCE_ERRORS
from service.responses import FastJSONResponse
from service.schemas import InputsRequest

router = APIRouter(tags=["inference"])


async def projection(model: ModelName, version: Version, plane: Plane) -> FastJSONResponse:
    return FastJSONResponse(await run.describe(plane, model, version))


async def projection_points(
    model: ModelName,
    version: Version,
    plane: Plane,
    num: Annotated[
        int,
        Query(ge=1, le=MAX_POINTS, description="How many; all the split's when it has fewer."),
    ] = 2000,
    seed: Annotated[
        int, Query(ge=0, le=MAX_SEED, description="Which sample: the same seed, the same rows.")
    ] = 0,
) -> FastJSONResponse:
    return FastJSONResponse(await run.points(plane, model, version, num, seed))


async def project(
    model: ModelName, version: Version, request: Request, plane: Plane
) -> FastJSONResponse:
    inputs = await read_inputs(request, InputsRequest, max_files=plane.settings.max_batch_size)
    answer = await run.project(
        plane, model, version, payload=inputs.payload, request=inputs.request
    )
    return FastJSONResponse(answer)


add_model_route(
    router,
    "/projection",
    projection,
    methods=["GET"],
    summary="The 2-D projection (PCA) of the embedding, fitted on the test split",
    description="`coords = (embedding - mean) @ components.T`; `explained`: each axis's "
    "share of the variance. Fitted on first use from the version's index of its test split "
    "(404 when the version has none).",
)
add_model_route(
    router,
    "/projection/points",
    projection_points,
    methods=["GET"],
    summary="A sample of the test split on the 2-D map, with true and predicted classes",
    description=f"`num` (at most {MAX_POINTS:,}) rows drawn by `seed`, in index order: "
    "`indices`, `labels`, `predicted`, `coords`.",
)
add_model_route(
    router,
    ":project",
    project,
    methods=["POST"],
    summary="Place inputs on the 2-D map: the projection of their embeddings",
    openapi_extra=PROJECT_BODY,
    errors=INFERENCE_ERRORS,
)
