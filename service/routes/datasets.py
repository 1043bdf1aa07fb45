"""One example of a local dataset, e.g. ``GET /v1/datasets/mnist-test/1``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from service.responses import FastJSONResponse
from service.routes.deps import Plane

router = APIRouter(tags=["datasets"])


@router.get("/v1/datasets/{ref}/{index}", summary="One example of a dataset split")
async def dataset_example(
    ref: Annotated[str, Path(examples=["mnist-test"])],
    index: Annotated[int, Path(ge=0, examples=[1])],
    plane: Plane,
) -> FastJSONResponse:
    return FastJSONResponse(await plane.example(ref, index))
