"""Stored evaluations of a version, and the test examples behind a confusion-matrix cell."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from service.features.metrics import read
from service.features.metrics.cells import DEFAULT_CELL_EXAMPLES, MAX_CELL_EXAMPLES
from service.http.deps import ModelName, Plane, Version, add_model_route
from service.responses import FastJSONResponse

router = APIRouter(tags=["models"])


async def model_metrics(
    model: ModelName,
    version: Version,
    plane: Plane,
    kind: Annotated[
        str | None,
        Query(description="test, train, validation, history, cross-dataset or sweep."),
    ] = None,
) -> FastJSONResponse:
    return FastJSONResponse(await read.evaluations(plane, model, version, kind))


async def cell_examples(
    model: ModelName,
    version: Version,
    plane: Plane,
    true_class: Annotated[
        int, Query(alias="true", ge=0, description="The cell's row: the true class id.")
    ],
    predicted_class: Annotated[
        int, Query(alias="predicted", ge=0, description="The cell's column: the predicted class.")
    ],
    start: Annotated[
        int, Query(ge=0, description="Position in the cell (0 to total - 1) of the first example.")
    ] = 0,
    num: Annotated[
        int, Query(ge=1, le=MAX_CELL_EXAMPLES, description=f"How many, up to {MAX_CELL_EXAMPLES}.")
    ] = DEFAULT_CELL_EXAMPLES,
    instances: Annotated[
        bool,
        Query(
            description="Also answer each example's input (`instances`), as the dataset "
            "route serves it: a page of thumbnails in one request."
        ),
    ] = False,
) -> FastJSONResponse:
    return FastJSONResponse(
        await read.cell_examples(
            plane, model, version, true_class, predicted_class, start, num, instances=instances
        )
    )


add_model_route(router, "/metrics", model_metrics, methods=["GET"], summary="Stored evaluations")
add_model_route(
    router,
    "/metrics/examples",
    cell_examples,
    methods=["GET"],
    summary="The test examples of one confusion-matrix cell",
    description=(
        "A page of the test examples of class `true` that the version predicted as "
        "`predicted`, in index order: `indices` number the `dataset` reference (e.g. "
        "`GET /v1/datasets/mnist-test/{index}`), `probability` is the predicted class's, "
        "`total` is the cell's count in the stored confusion matrix; with `instances=true`, "
        "`instances` holds each example's input. `num` is at most "
        f"{MAX_CELL_EXAMPLES}. 400: a class outside the model's, `num` outside 1 to "
        f"{MAX_CELL_EXAMPLES}, or `start` past the cell's end; 404: unknown model or version, "
        "or no predictions stored for it (`predictions_not_found`: the trainer adds them, "
        "`make run`); 503: the metrics database is unavailable."
    ),
)
