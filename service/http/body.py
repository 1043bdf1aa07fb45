"""Reading request bodies through Starlette: JSON, multipart uploads, raw images, raw .npy.

Nothing model-specific; the JSON and .npy parsing itself is ``service.dataplane.payload``'s
(the fast lane reads those bodies without a Starlette request).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from fastapi import Request

from service import codecs
from service.codecs.json_body import parse_bounded
from service.dataplane.payload import Payload, parse_json, payload_from_body
from service.errors import InvalidInput, UnsupportedMediaType
from service.handlers import validated
from service.schemas import InputsRequest
from service.uploads import MAX_FORM_FIELDS, upload_payload


def _budget(request: Request) -> int:
    """``max_decode_bytes`` of the app serving ``request``."""
    return int(request.app.state.dataplane.settings.max_decode_bytes)


async def read_json_object(request: Request) -> dict[str, Any]:
    kind = codecs.media_type(request.headers.get("content-type"))
    if kind not in ("", codecs.CONTENT_TYPE_JSON):
        raise UnsupportedMediaType(f"content type {kind!r} is not supported here; send JSON")
    return await json_object(await request.body(), max_bytes=_budget(request))


async def json_object(body: bytes, *, max_bytes: int) -> dict[str, Any]:
    """A JSON body that must be an object (the routes' and the fast lane's reading)."""
    value = await parse_bounded(body, parse_json, max_bytes=max_bytes)
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
    payload = await payload_from_body(kind, body, max_bytes=_budget(request)) or upload_payload(
        kind, request.headers.get("content-type"), body, max_files=max_files
    )
    if payload is not None:
        return payload
    raise UnsupportedMediaType(
        f"content type {kind!r} is not supported; send {codecs.CONTENT_TYPE_JSON}, "
        f"{codecs.CONTENT_TYPE_MULTIPART} (PNG or JPEG files), {codecs.CONTENT_TYPE_PNG} or "
        f"{codecs.CONTENT_TYPE_JPEG} (one image as the body) or {codecs.CONTENT_TYPE_NPY}"
    )


M = TypeVar("M", bound=InputsRequest)


@dataclass(frozen=True)
class Inputs(Generic[M]):
    """What a body of ``:explain``, ``:neighbors`` or ``:project`` holds: a JSON request, or
    a payload of images or .npy; with images, any extra file (``baseline``) by its name."""

    request: M | None = None
    payload: Payload | None = None
    uploads: dict[str, tuple[str, bytes]] = field(default_factory=dict)


async def read_inputs(
    request: Request, model: type[M], *, max_files: int, extra_files: tuple[str, ...] = ()
) -> Inputs[M]:
    kind = codecs.media_type(request.headers.get("content-type"))
    if kind in ("", codecs.CONTENT_TYPE_JSON):
        return Inputs(request=validated(model, await read_json_object(request)))
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
