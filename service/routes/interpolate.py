"""``:interpolate``: JSON, or multipart with files ``a``/``b`` and the rest as form fields."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from pydantic import ValidationError

from service import codecs
from service.adapters import parse_json
from service.errors import InvalidInput
from service.handlers import describe_validation_errors
from service.openapi import INFERENCE_ERRORS
from service.responses import FastJSONResponse
from service.routes.body import read_json_object, read_uploads
from service.routes.deps import ModelName, Plane, Version, add_model_route
from service.routes.openapi_bodies import INTERPOLATE_BODY
from service.schemas import InterpolateRequest

router = APIRouter(tags=["inference"])

_JSON_FIELDS = ("a", "b", "alphas")


def _form_to_request(fields: dict[str, str]) -> dict[str, Any]:
    """Form fields are strings; the structured ones (alphas, a, b) carry JSON."""
    request: dict[str, Any] = dict(fields)
    for name in _JSON_FIELDS:
        if name in request:
            try:
                request[name] = parse_json(request[name].encode())
            except InvalidInput as exc:
                raise InvalidInput(f"form field {name!r}: {exc.message}") from None
    return request


def _validate(raw: dict[str, Any]) -> InterpolateRequest:
    try:
        return InterpolateRequest.model_validate(raw)
    except ValidationError as exc:
        errors = [{**e, "loc": ("body", *e["loc"])} for e in exc.errors()]
        raise InvalidInput(describe_validation_errors(errors)) from None


async def interpolate(
    model: ModelName, version: Version, request: Request, plane: Plane
) -> FastJSONResponse:
    kind = codecs.media_type(request.headers.get("content-type"))
    uploads: dict[str, tuple[str, bytes]] = {}
    if kind == codecs.CONTENT_TYPE_MULTIPART:
        files, fields = await read_uploads(request, max_files=2)
        for field, filename, data in files:
            if field not in ("a", "b"):
                raise InvalidInput(f"unexpected file field {field!r}: upload 'a' and 'b'")
            uploads[field] = (filename, data)
        raw = _form_to_request(fields)
    else:
        raw = await read_json_object(request)
    return FastJSONResponse(await plane.interpolate(model, version, _validate(raw), uploads))


add_model_route(
    router,
    ":interpolate",
    interpolate,
    methods=["POST"],
    summary="Classify along a line between two inputs (pixel or embedding space)",
    openapi_extra=INTERPOLATE_BODY,
    errors=INFERENCE_ERRORS,
)
