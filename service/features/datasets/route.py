"""Examples of a local dataset: one (``GET /v1/datasets/mnist-test/1``) or a run of them
(``GET /v1/datasets/mnist-test?start=0&num=256``)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Annotated

import numpy as np
from fastapi import APIRouter, Path, Query

from service.dataplane.examples import dataset_example as read_example
from service.dataplane.examples import dataset_examples as read_examples
from service.http.deps import Plane
from service.openapi import errors
from service.responses import FastJSONResponse

router = APIRouter(tags=["datasets"])


@dataclass(frozen=True, slots=True)
class Example:
    dataset: str
    index: int
    label: int
    instance: np.ndarray


@dataclass(frozen=True, slots=True)
class Examples:
    dataset: str
    start: int
    size: int
    labels: np.ndarray
    instances: np.ndarray


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
    x, label = await plane.in_thread(read_example, ref, index, plane.settings.data_dir)
    return FastJSONResponse(Example(ref, index, label, x))


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
    load = partial(
        read_examples, ref, start, num, plane.settings.data_dir,
        max_num=plane.settings.max_batch_size,
    )  # fmt: skip
    x, labels, size = await plane.in_thread(load)
    return FastJSONResponse(Examples(ref, start, size, labels, x))
