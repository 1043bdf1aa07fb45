"""Reading request bodies through Starlette: JSON, multipart uploads, raw images, raw .npy.

Nothing model-specific; the JSON and .npy parsing itself is ``service.adapters``' (the fast
lane reads those bodies without a Starlette request).
"""

from __future__ import annotations

from typing import Any

from fastapi import Request

from service import codecs
from service.adapters import parse_json, payload_from_body
from service.dataplane import Payload
from service.errors import InvalidInput, UnsupportedMediaType
from service.uploads import MAX_FORM_FIELDS, upload_payload


async def read_json_object(request: Request) -> dict[str, Any]:
    kind = codecs.media_type(request.headers.get("content-type"))
    if kind not in ("", codecs.CONTENT_TYPE_JSON):
        raise UnsupportedMediaType(f"content type {kind!r} is not supported here; send JSON")
    value = parse_json(await request.body())
    if not isinstance(value, dict):
        raise InvalidInput("the JSON body must be an object")
    return value


async def read_uploads(
    request: Request, *, max_files: int
) -> tuple[list[tuple[str, str, bytes]], dict[str, str]]:
    """(field name, file name, bytes) of every file, and the plain form fields."""
    form = codecs.parse_form(
        await request.body(),
        request.headers.get("content-type"),
        max_files=max_files,
        max_fields=MAX_FORM_FIELDS,
    )
    return [(key, name or key, data) for key, name, data in form.files], form.fields


async def read_payload(request: Request, *, max_files: int) -> Payload:
    """A batch of instances as JSON, uploaded image files, or one .npy array."""
    kind = codecs.media_type(request.headers.get("content-type"))
    body = await request.body()
    payload = payload_from_body(kind, body) or upload_payload(
        kind, request.headers.get("content-type"), body, max_files=max_files
    )
    if payload is not None:
        return payload
    raise UnsupportedMediaType(
        f"content type {kind!r} is not supported; send {codecs.CONTENT_TYPE_JSON}, "
        f"{codecs.CONTENT_TYPE_MULTIPART} (PNG or JPEG files), {codecs.CONTENT_TYPE_PNG} or "
        f"{codecs.CONTENT_TYPE_JPEG} (one image as the body) or {codecs.CONTENT_TYPE_NPY}"
    )
