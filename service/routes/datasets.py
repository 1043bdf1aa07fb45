"""Examples of a local dataset: one (``GET /v1/datasets/mnist-test/1``) or a run of them
(``GET /v1/datasets/mnist-test?start=0&num=256``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from service.openapi import errors
from service.responses import FastJSONResponse
from service.routes.deps import Plane

router = APIRouter(tags=["datasets"])


@router.get(
    "/v1/datasets/{ref}/{index}",
    summary="One example of a dataset split",
    responses=errors(400, 404),
)
async def dataset_example(
    ref: Annotated[str, Path(examples=["mnist-test"])],
    index: Annotated[int, Path(ge=0, examples=[1])],
    plane: Plane,
) -> FastJSONResponse:
    return FastJSONResponse(await plane.example(ref, index))


@router.get(
    "/v1/datasets/{ref}",
    summary="A run of examples of a dataset split, with labels",
    responses=errors(400, 404, 413),
)
async def dataset_examples(
    ref: Annotated[str, Path(examples=["mnist-test"])],
    plane: Plane,
    start: Annotated[int, Query(ge=0, description="First index")] = 0,
    num: Annotated[
        int, Query(ge=1, description="How many; fewer where the split ends (max_batch_size)")
    ] = 100,
) -> FastJSONResponse:
    return FastJSONResponse(await plane.examples(ref, start, num))
