"""``:interpolate``: JSON, or multipart with files ``a``/``b`` and the rest as form fields."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from service import codecs
from service.dataplane.payload import parse_json
from service.errors import InvalidInput
from service.features.interpolate.sweep import interpolate as sweep
from service.handlers import validated
from service.http.body import read_json_object, read_uploads
from service.http.deps import ModelName, Plane, Version, add_model_route
from service.http.openapi_bodies import INTERPOLATE_BODY
from service.openapi import INFERENCE_ERRORS
from service.responses import FastJSONResponse
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
    request_body = validated(InterpolateRequest, raw)
    return FastJSONResponse(await sweep(plane, model, version, request_body, uploads))


add_model_route(
    router,
    ":interpolate",
    interpolate,
    methods=["POST"],
    summary="Classify along a line between two inputs (pixel or embedding space)",
    openapi_extra=INTERPOLATE_BODY,
    errors=INFERENCE_ERRORS,
)
