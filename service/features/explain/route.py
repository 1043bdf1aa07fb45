"""``:explain``: why an answer, for inputs in every form ``:predict`` takes, plus dataset
examples (docs/explain.md).

The options are query parameters whatever the body, so a PNG upload, a .npy array and a
JSON body are answered the same way.
"""

# No ``from __future__ import annotations``: FastAPI must see the real ``Query`` annotations.
from typing import Annotated

from fastapi import APIRouter, Query, Request

from service.features.explain.options import ExplainOptions
from service.features.explain.run import explain_request
from service.http.body import read_inputs
from service.http.deps import ModelName, Plane, Version, add_model_route
from service.http.openapi_bodies import EXPLAIN_BODY
from service.openapi import INFERENCE_ERRORS
from service.responses import FastJSONResponse
from service.schemas import ExplainRequest

router = APIRouter(tags=["inference"])


async def explain(
    model: ModelName,
    version: Version,
    request: Request,
    plane: Plane,
    options: Annotated[ExplainOptions, Query()],
) -> FastJSONResponse:
    inputs = await read_inputs(
        request,
        ExplainRequest,
        max_files=plane.settings.max_batch_size,
        extra_files=("baseline",),
    )
    answer = await explain_request(
        plane, model, version, options,
        payload=inputs.payload, request=inputs.request, uploads=inputs.uploads,
    )  # fmt: skip
    return FastJSONResponse(answer)


add_model_route(
    router,
    ":explain",
    explain,
    methods=["POST"],
    summary="Why this answer: attributions of a class score to the input or a layer",
    openapi_extra=EXPLAIN_BODY,
    errors=INFERENCE_ERRORS,
)
