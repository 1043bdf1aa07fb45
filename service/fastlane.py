"""The fast lane: the inference routes without FastAPI's per-request machinery.

``:predict`` and ``:embed`` (JSON or ``.npy`` bodies) and V2 ``infer`` are what clients
call thousands of times a second. Through FastAPI each such call pays for route matching
over every route, dependency solving and query validation that together cost more CPU
than parsing the body and running the model. This pure ASGI middleware recognises those
requests with one regular expression and calls the same data plane, the same codecs and
the same error rendering as the routes, so answers are byte for byte the same.

Anything it is not sure about goes to FastAPI untouched (the body replayed): other
methods and content types (multipart uploads), a query parameter it does not know, a
value FastAPI would reject (so the 400 names it exactly as FastAPI's validation does),
an unusual version segment. ``tests/service/test_fastlane.py`` sends good and bad
requests to a server with and without the lane and compares every answer.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import Any

from starlette.responses import Response

from core.manifest import MODEL_NAME_PATTERN
from service import codecs
from service.dataplane import DataPlane
from service.errors import LayerlensError
from service.handlers import error_response, unexpected_error_response
from service.protocol.v2_binary import (
    BINARY_CONTENT_TYPE,
    HEADER_LENGTH,
    encode_response,
    split_body,
)
from service.responses import FastJSONResponse
from service.routes.body import raw_payload
from service.routes.queries import InferenceQuery, parse_query

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

logger = logging.getLogger(__name__)

_NAME = MODEL_NAME_PATTERN.strip("^$")
_PATH = re.compile(
    rf"/(?:v1/models/(?P<v1>{_NAME})(?:/versions/(?P<v1version>[1-9][0-9]{{0,8}}))?"
    rf":(?P<verb>predict|embed)"
    rf"|v2/models/(?P<v2>{_NAME})(?:/versions/(?P<v2version>[1-9][0-9]{{0,8}}))?/infer)"
)
_HEADER_LENGTH = HEADER_LENGTH.lower().encode()


@dataclass(frozen=True)
class RouteRef:
    """What the observability middleware reads from ``scope["route"]``: the template."""

    path: str


_ROUTES = {
    (verb, versioned): RouteRef(
        f"{prefix}/{{model}}{'/versions/{version}' if versioned else ''}{suffix}"
    )
    for verb, prefix, suffix in (
        ("predict", "/v1/models", ":predict"),
        ("embed", "/v1/models", ":embed"),
        ("infer", "/v2/models", "/infer"),
    )
    for versioned in (False, True)
}


@dataclass
class FastLaneStats:
    """Requests answered here and requests passed on to FastAPI (``app.state.fast_lane``)."""

    handled: int = 0
    deferred: int = 0


class FastLane:
    """Answers the hot inference requests itself; passes everything else on to ``app``."""

    def __init__(self, app: ASGIApp, *, dataplane: DataPlane, stats: FastLaneStats) -> None:
        self.app = app
        self.plane = dataplane
        self.stats = stats

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        match = None
        if scope["type"] == "http" and scope["method"] == "POST" and not scope.get("root_path"):
            match = _PATH.fullmatch(scope["path"])
        if match is None:
            await self.app(scope, receive, send)
            return
        groups = match.groupdict()
        verb = groups["verb"] or "infer"
        query = parse_query(scope["query_string"], verb)
        headers = _headers(scope)
        kind = codecs.media_type(headers.get(b"content-type"))
        if query is None or (verb != "infer" and kind not in _RAW_KINDS):
            self.stats.deferred += 1
            await self.app(scope, receive, send)
            return
        body = await _read_body(receive)
        if body is None:  # the client left before sending its body: nobody to answer
            return
        self.stats.handled += 1
        model = groups["v1"] or groups["v2"]
        raw_version = groups["v1version"] or groups["v2version"]
        version = int(raw_version) if raw_version else None
        scope["route"] = _ROUTES[verb, version is not None]
        scope["path_params"] = {"model": model, **({"version": raw_version} if version else {})}
        try:
            if verb == "infer":
                response = await self._infer(model, version, body, headers.get(_HEADER_LENGTH))
            else:
                response = await self._v1(verb, model, version, kind, body, query)
        except LayerlensError as exc:
            if exc.status_code >= 500:
                logger.warning("%s %s: %s", scope["method"], scope["path"], exc.message)
            response = error_response(exc.status_code, exc.message, exc.code, exc.headers())
        except Exception as exc:
            response = unexpected_error_response(scope["method"], scope["path"], exc)
        await response(scope, receive, send)

    async def _v1(
        self,
        verb: str,
        model: str,
        version: int | None,
        kind: str,
        body: bytes,
        query: InferenceQuery,
    ) -> Response:
        payload = raw_payload(kind, body)
        assert payload is not None  # kind is one of _RAW_KINDS
        if verb == "predict":
            result = await self.plane.predict(
                model,
                version,
                payload,
                top_k=query.top_k,
                with_logits=query.output == "logits",
                scale=query.scale,
                fit=query.fit,
            )
        else:
            result = await self.plane.embed(
                model, version, payload, layer=query.layer, scale=query.scale, fit=query.fit
            )
        return FastJSONResponse(result)

    async def _infer(
        self, model: str, version: int | None, body: bytes, header_length: str | None
    ) -> Response:
        # The same steps as service.routes.v2.v2_infer.
        request, tail = split_body(body, header_length)
        header, binaries = await self.plane.v2_infer(model, version, request, tail)
        content, extra = encode_response(header, binaries)
        media = BINARY_CONTENT_TYPE if binaries else "application/json"
        return Response(content, media_type=media, headers=extra)


_RAW_KINDS = ("", codecs.CONTENT_TYPE_JSON, codecs.CONTENT_TYPE_NPY)


def _headers(scope: Scope) -> dict[bytes, str]:
    """The first value of each header, like ``Request.headers.get``."""
    found: dict[bytes, str] = {}
    for name, value in scope["headers"]:
        if name not in found:
            found[name] = value.decode("latin-1")
    return found


async def _read_body(receive: Receive) -> bytes | None:
    chunks = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return None
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)
