"""The model catalogue: every loaded model, and one version's manifest."""

from __future__ import annotations

from fastapi import APIRouter

from service.dataplane import catalogue
from service.http.deps import ModelName, Plane, Version, add_model_route
from service.responses import FastJSONResponse

router = APIRouter(tags=["models"])


@router.get(
    "/v1/models",
    summary="Every loaded model and its versions",
    description="`models`: every loaded model; `training`: the models a running trainer "
    "will still train (each is served once it lands; none of them holds readiness).",
)
async def list_models(plane: Plane) -> FastJSONResponse:
    return FastJSONResponse(await plane.in_thread(catalogue.model_summaries, plane))


async def model_metadata(model: ModelName, version: Version, plane: Plane) -> FastJSONResponse:
    return FastJSONResponse(catalogue.metadata(plane, model, version))


add_model_route(router, "", model_metadata, methods=["GET"], summary="A model's manifest")
