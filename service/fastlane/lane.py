"""The fast lane: the inference routes without FastAPI's per-request machinery.

``:predict`` and ``:embed`` (JSON, ``.npy``, multipart image uploads and raw ``image/png``
or ``image/jpeg`` bodies) and V2 ``infer`` are what clients call thousands of times a
second; ``:explain`` and ``:neighbors`` with a JSON body are what the page calls on every
settled drawing.
Through FastAPI each such call pays for its middleware stack, route matching over every
route, dependency solving and query validation, which together cost more CPU than
parsing the body and running the model. The lane sits in front of all of that
(``service.app.LayerlensAPI``): it recognises those requests with one regular expression,
reads the body through the same ``service.bodies`` reader and records the same metrics and
access-log line as the middleware does, calls the same verbs
(``service.features.predict.verbs``, ``service.protocol.rest``) and error renderer
(``service.handlers.error_response``) as the routes, so answers are byte for byte the same.

Anything it is not sure about goes to FastAPI untouched, decided before the body is read:
other methods and content types, a query parameter it does not know, a
value FastAPI would reject (so the 400 names it exactly as FastAPI's validation does),
an unusual version segment. ``tests/service/test_fastlane.py`` sends good and bad
requests to a server with and without the lane and compares every answer.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass

from starlette.types import ASGIApp, Receive, Scope, Send

from core.manifest import MODEL_NAME_PATTERN
from service import codecs, departures
from service.bodies import BodyReader
from service.dataplane import DataPlane
from service.dataplane.payload import INLINE_DECODE_BYTES, payload_from_body
from service.errors import LayerlensError, UnsupportedMediaType
from service.fastlane.query import parse_query
from service.features.explain.options import ExplainOptions
from service.features.explain.run import explain_request
from service.features.neighbors.options import NeighborOptions
from service.features.neighbors.search import neighbors_request
from service.features.predict import verbs
from service.features.predict.verbs import InferenceOptions
from service.handlers import M, error_response, validated
from service.http.body import json_object
from service.middleware import RequestRecorder, declared_too_large, send_refusal
from service.protocol import rest
from service.protocol.v2_binary import HEADER_LENGTH
from service.responses import Answer, dumps
from service.schemas import ExplainRequest, InputsRequest
from service.uploads import UPLOAD_KINDS, upload_payload

_NAME = MODEL_NAME_PATTERN.strip("^$")
_PATH = re.compile(
    rf"/(?:v1/models/(?P<v1>{_NAME})(?:/versions/(?P<v1version>[1-9][0-9]{{0,8}}))?"
    rf":(?P<verb>predict|embed|explain|neighbors)"
    rf"|v2/models/(?P<v2>{_NAME})(?:/versions/(?P<v2version>[1-9][0-9]{{0,8}}))?/infer)"
)
_HEADER_LENGTH = HEADER_LENGTH.lower().encode()


#: Route templates, as the metrics and the access log name the FastAPI routes.
_TEMPLATES = {
    (verb, versioned): f"{prefix}/{{model}}{'/versions/{version}' if versioned else ''}{suffix}"
    for verb, prefix, suffix in (
        ("predict", "/v1/models", ":predict"),
        ("embed", "/v1/models", ":embed"),
        ("explain", "/v1/models", ":explain"),
        ("neighbors", "/v1/models", ":neighbors"),
        ("infer", "/v2/models", "/infer"),
    )
    for versioned in (False, True)
}


@dataclass(frozen=True, slots=True)
class _Call:
    """One request the lane takes, as read from its path, query and headers."""

    verb: str
    model: str
    version: int | None
    kind: str
    options: InferenceOptions | ExplainOptions | NeighborOptions

    @property
    def template(self) -> str:
        return _TEMPLATES[self.verb, self.version is not None]


class FastLane:
    """Answers the hot inference requests itself; passes everything else on to ``app``.

    ``app`` is the whole FastAPI application with its middleware, so a request the lane
    passes on is limited, observed and answered exactly as if the lane did not exist.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        dataplane: DataPlane,
        recorder: RequestRecorder,
        bodies: BodyReader,
    ) -> None:
        self.app = app
        self.plane = dataplane
        self.recorder = recorder
        self.bodies = bodies

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        call = _recognise(scope)
        if call is None:
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        if declared_too_large(scope, self.bodies.max_bytes):
            status = await send_refusal(scope, receive, send, self.bodies.too_large())
        else:
            try:
                body, complete = await self.bodies.read(scope, receive)
            except LayerlensError as error:  # too large, too slow, too many from one client
                status = await send_refusal(scope, receive, send, error)
            else:
                if not complete:  # the client left before sending its body: nobody to answer
                    return
                status = await self._answer(call, body, scope, receive, send)
        seconds = time.perf_counter() - start
        self.recorder.record("POST", call.template, call.model, status, seconds)

    async def _answer(
        self, call: _Call, body: bytes, scope: Scope, receive: Receive, send: Send
    ) -> int:
        """Runs the request and sends the answer; returns its status."""
        work = self._run(call, body, scope)
        try:
            if (
                call.kind in _JSON_KINDS
                and len(body) <= INLINE_DECODE_BYTES
                and isinstance(call.options, InferenceOptions)  # explains, searches run long
            ):
                # decoded inline and run in one model call: no stage worth watching the
                # client for, so not the cost of arming a watch on every small request
                answer = await work
            else:
                answer = await departures.answering(receive, work)
        except Exception as exc:
            response = error_response(exc, scope["method"], scope["path"])
            await response(scope, receive, send)
            return response.status_code
        await _send_ok(send, answer)
        return 200

    async def _run(self, call: _Call, body: bytes, scope: Scope) -> Answer:
        if isinstance(call.options, ExplainOptions):
            request = await self._json(ExplainRequest, body)
            answer = await explain_request(
                self.plane, call.model, call.version, call.options, request=request
            )
            return Answer(dumps(answer))
        if isinstance(call.options, NeighborOptions):
            inputs = await self._json(InputsRequest, body)
            found = await neighbors_request(
                self.plane, call.model, call.version, call.options, request=inputs
            )
            return Answer(dumps(found))
        if call.verb == "infer":
            header_length = _header(scope, _HEADER_LENGTH)
            return await rest.infer(self.plane, call.model, call.version, body, header_length)
        payload = await payload_from_body(
            call.kind, body, max_bytes=self.plane.settings.max_decode_bytes
        ) or upload_payload(
            call.kind,
            _header(scope, b"content-type"),
            body,
            max_files=self.plane.settings.max_batch_size,
        )
        if payload is None:  # _recognise takes only the kinds read above
            raise UnsupportedMediaType(f"content type {call.kind!r} is not supported")
        verb = verbs.predict if call.verb == "predict" else verbs.embed
        return await verb(self.plane, call.model, call.version, payload, call.options)

    async def _json(self, model: type[M], body: bytes) -> M:
        """The JSON body as the route's request model, validated as the route does."""
        parsed = await json_object(body, max_bytes=self.plane.settings.max_decode_bytes)
        return validated(model, parsed)


_JSON_KINDS = ("", codecs.CONTENT_TYPE_JSON)
_RAW_KINDS = ("", codecs.CONTENT_TYPE_JSON, codecs.CONTENT_TYPE_NPY, *UPLOAD_KINDS)


def _recognise(scope: Scope) -> _Call | None:
    """The lane's request, or None for anything it leaves to FastAPI."""
    if scope["type"] != "http" or scope["method"] != "POST" or scope.get("root_path"):
        return None
    match = _PATH.fullmatch(scope["path"])
    if match is None:
        return None
    groups = match.groupdict()
    verb = groups["verb"] or "infer"
    options = parse_query(scope["query_string"], verb)
    kind = codecs.media_type(_header(scope, b"content-type"))
    # explain's and neighbors' uploads go through FastAPI
    kinds = _JSON_KINDS if verb in ("explain", "neighbors") else _RAW_KINDS
    if options is None or (verb != "infer" and kind not in kinds):
        return None
    raw_version = groups["v1version"] or groups["v2version"]
    return _Call(
        verb=verb,
        model=groups["v1"] or groups["v2"],
        version=int(raw_version) if raw_version else None,
        kind=kind,
        options=options,
    )


def _header(scope: Scope, wanted: bytes) -> str | None:
    """The first value of a header, like ``Request.headers.get``."""
    for name, value in scope["headers"]:
        if name == wanted:
            return value.decode("latin-1")
    return None


async def _send_ok(send: Send, answer: Answer) -> None:
    """The 200, with the headers Starlette's ``Response`` would write."""
    headers = (
        [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in answer.headers.items()]
        if answer.headers
        else []
    )
    headers.append((b"content-length", str(len(answer.content)).encode()))
    headers.append((b"content-type", answer.media_type.encode("latin-1")))
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": answer.content})
