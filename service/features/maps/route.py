"""The maps: a version's 2-D map of a layer (``method`` = pca, tsne, umap), a sample of its
test split already on it, and ``:project`` placing new inputs on it (docs/page.md, Map)."""

# No ``from __future__ import annotations``: FastAPI must see the real ``Query`` annotations.
from typing import Annotated

from fastapi import APIRouter, Query, Request

from core.maps import METHODS
from service.features.maps import run
from service.features.maps.run import MAX_POINTS, MAX_SEED
from service.http.body import read_inputs
from service.http.deps import ModelName, Ood, OodMethod, Plane, Version, add_model_route
from service.http.openapi_bodies import PROJECT_BODY
from service.openapi import INFERENCE_ERRORS
from service.responses import FastJSONResponse
from service.schemas import InputsRequest

router = APIRouter(tags=["inference"])

# Plain ``str`` checked by the data plane, so an unknown method answers the project's 400
# naming the choices rather than FastAPI's 422.
Method = Annotated[
    str, Query(description=f"The map: one of {', '.join(METHODS)} (t-SNE and UMAP where fitted).")
]
MapLayer = Annotated[
    str | None, Query(description="The layer mapped (default: the embedding layer).")
]


async def projection(
    model: ModelName, version: Version, plane: Plane, method: Method = "pca", layer: MapLayer = None
) -> FastJSONResponse:
    return FastJSONResponse(await run.describe(plane, model, version, method, layer))


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
    method: Method = "pca",
    layer: MapLayer = None,
    ood: Ood = False,
    ood_method: OodMethod = None,
) -> FastJSONResponse:
    answer = await run.points(
        plane, model, version, num, seed, method, layer, ood=ood, ood_method=ood_method
    )
    return FastJSONResponse(answer)


async def project(
    model: ModelName,
    version: Version,
    request: Request,
    plane: Plane,
    method: Method = "pca",
    layer: MapLayer = None,
) -> FastJSONResponse:
    inputs = await read_inputs(request, InputsRequest, max_files=plane.settings.max_batch_size)
    answer = await run.project(
        plane, model, version,
        payload=inputs.payload, request=inputs.request, method=method, layer=layer,
    )  # fmt: skip
    return FastJSONResponse(answer)


add_model_route(
    router,
    "/projection",
    projection,
    methods=["GET"],
    summary="A 2-D map of a layer (PCA, t-SNE, UMAP) of the test split",
    description="PCA: `coords = (vector - mean) @ components.T`, `explained` each axis's "
    "share of the variance, fitted on first use from the version's index of its test split. "
    "t-SNE and UMAP: fitted by the trainer on a seeded sample (`points`, `seed`); new inputs "
    "are placed among the `placement.k` nearest map examples in the layer's space, weighted "
    "by 1/distance^2. `maps` lists every (method, layer) the version can draw. 400 for an "
    "unknown method or layer, 404 for a map the version lacks (with the command that builds "
    "it).",
)
add_model_route(
    router,
    "/projection/points",
    projection_points,
    methods=["GET"],
    summary="A sample of the test split on the 2-D map, with true and predicted classes",
    description=f"`num` (at most {MAX_POINTS:,}) of the map's points drawn by `seed`, in "
    "index order: `indices` (rows of the test split), `labels`, `predicted`, `coords`; `size` "
    "is how many points the map has (the whole split for PCA). With `ood=true`, `ood` holds "
    "each point's out-of-distribution verdict, as `:predict?ood=true` gives it for the same "
    "test example (computed from the example's stored embedding).",
)
add_model_route(
    router,
    ":project",
    project,
    methods=["POST"],
    summary="Place inputs on a 2-D map (`method`, `layer`): PCA's axes, or among the "
    "nearest map examples for t-SNE and UMAP (`nearest`, `distance`: the closest one)",
    openapi_extra=PROJECT_BODY,
    errors=INFERENCE_ERRORS,
)
