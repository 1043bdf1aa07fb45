"""``:explain`` and ``:neighbors``: why an answer, for inputs in every form ``:predict``
takes, plus dataset examples (docs/explain.md).

The options are query parameters whatever the body, so a PNG upload, a .npy array and a
JSON body are answered the same way.
"""

# No ``from __future__ import annotations``: FastAPI must see the real ``Query`` annotations.
from dataclasses import dataclass, field
from typing import Annotated, Generic, TypeVar

from fastapi import APIRouter, Query, Request
from pydantic import ValidationError

from service import codecs
from service.dataplane import DataPlane, Payload
from service.errors import InvalidInput
from service.explain.options import ExplainOptions, NeighborOptions
from service.handlers import describe_validation_errors
from service.openapi import INFERENCE_ERRORS
from service.responses import FastJSONResponse
from service.routes.body import read_json_object, read_payload, read_uploads
from service.routes.deps import ModelName, Plane, Version, add_model_route
from service.routes.openapi_bodies import EXPLAIN_BODY, NEIGHBORS_BODY
from service.schemas import ExplainRequest, InputsRequest

router = APIRouter(tags=["inference"])


M = TypeVar("M", bound=InputsRequest)


def _validate(model: type[M], raw: dict[str, object]) -> M:
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        errors = [{**e, "loc": ("body", *e["loc"])} for e in exc.errors()]
        raise InvalidInput(describe_validation_errors(errors)) from None


@dataclass(frozen=True)
class Inputs(Generic[M]):
    """What a body of ``:explain`` or ``:neighbors`` holds: a JSON request, or a payload of
    images or .npy; with images, any extra file (``baseline``) by its field name."""

    request: M | None = None
    payload: Payload | None = None
    uploads: dict[str, tuple[str, bytes]] = field(default_factory=dict)


async def read_inputs(
    request: Request, plane: DataPlane, model: type[M], *, extra_files: tuple[str, ...] = ()
) -> Inputs[M]:
    kind = codecs.media_type(request.headers.get("content-type"))
    max_files = plane.settings.max_batch_size
    if kind in ("", codecs.CONTENT_TYPE_JSON):
        return Inputs(request=_validate(model, await read_json_object(request)))
    if kind == codecs.CONTENT_TYPE_MULTIPART:
        files, _fields = await read_uploads(request, max_files=max_files + len(extra_files))
        images = [(name, data) for key, name, data in files if key not in extra_files]
        if not images:
            raise InvalidInput("the multipart body holds no images: upload them as 'files'")
        size = sum(len(data) for _name, data in images)
        return Inputs(
            payload=Payload(kind="files", size=size, files=images),
            uploads={key: (name, data) for key, name, data in files if key in extra_files},
        )
    return Inputs(payload=await read_payload(request, max_files=max_files))


async def explain(
    model: ModelName,
    version: Version,
    request: Request,
    plane: Plane,
    options: Annotated[ExplainOptions, Query()],
) -> FastJSONResponse:
    inputs = await read_inputs(request, plane, ExplainRequest, extra_files=("baseline",))
    answer = await plane.explain(
        model, version, options,
        payload=inputs.payload, request=inputs.request, uploads=inputs.uploads,
    )  # fmt: skip
    return FastJSONResponse(answer)


async def neighbors(
    model: ModelName,
    version: Version,
    request: Request,
    plane: Plane,
    options: Annotated[NeighborOptions, Query()],
) -> FastJSONResponse:
    inputs = await read_inputs(request, plane, InputsRequest)
    answer = await plane.neighbors(
        model, version, options, payload=inputs.payload, request=inputs.request
    )
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
add_model_route(
    router,
    ":neighbors",
    neighbors,
    methods=["POST"],
    summary="The nearest examples of a dataset split, in the embedding's space or in pixels",
    openapi_extra=NEIGHBORS_BODY,
    errors=INFERENCE_ERRORS,
)
