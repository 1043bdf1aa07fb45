"""``:explain``: attributions for inputs in every form ``:predict`` takes (docs/explain.md).

The options are query parameters whatever the body, so a PNG upload, a .npy array and a
JSON body are explained the same way.
"""

# No ``from __future__ import annotations``: FastAPI must see the real ``Query`` annotations.
from typing import Annotated

from fastapi import APIRouter, Query, Request
from pydantic import ValidationError

from service import codecs
from service.dataplane import Payload
from service.errors import InvalidInput
from service.explain.options import ExplainOptions
from service.handlers import describe_validation_errors
from service.openapi import INFERENCE_ERRORS
from service.responses import FastJSONResponse
from service.routes.body import read_json_object, read_payload, read_uploads
from service.routes.deps import ModelName, Plane, Version, add_model_route
from service.routes.openapi_bodies import EXPLAIN_BODY
from service.schemas import ExplainRequest

router = APIRouter(tags=["inference"])


def _validate(raw: dict[str, object]) -> ExplainRequest:
    try:
        return ExplainRequest.model_validate(raw)
    except ValidationError as exc:
        errors = [{**e, "loc": ("body", *e["loc"])} for e in exc.errors()]
        raise InvalidInput(describe_validation_errors(errors)) from None


async def explain(
    model: ModelName,
    version: Version,
    request: Request,
    plane: Plane,
    options: Annotated[ExplainOptions, Query()],
) -> FastJSONResponse:
    kind = codecs.media_type(request.headers.get("content-type"))
    max_files = plane.settings.max_batch_size
    if kind in ("", codecs.CONTENT_TYPE_JSON):
        body = _validate(await read_json_object(request))
        answer = await plane.explain(model, version, options, request=body)
    elif kind == codecs.CONTENT_TYPE_MULTIPART:
        files, _fields = await read_uploads(request, max_files=max_files + 1)
        inputs = [(name, data) for key, name, data in files if key != "baseline"]
        uploads = {key: (name, data) for key, name, data in files if key == "baseline"}
        if not inputs:
            raise InvalidInput("the multipart body holds no images to explain: upload 'files'")
        payload = Payload(kind="files", size=sum(len(d) for _n, d in inputs), files=inputs)
        answer = await plane.explain(model, version, options, payload=payload, uploads=uploads)
    else:
        payload = await read_payload(request, max_files=max_files)
        answer = await plane.explain(model, version, options, payload=payload)
    return FastJSONResponse(answer)


add_model_route(
    router,
    ":explain",
    explain,
    methods=["POST"],
    summary="Why this answer: attributions of a class score to the input or the embedding",
    openapi_extra=EXPLAIN_BODY,
    errors=INFERENCE_ERRORS,
)
