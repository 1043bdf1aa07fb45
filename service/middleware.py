"""ASGI middleware: the body-size limit, and per-request logs and metrics.

Both are plain ASGI (not ``BaseHTTPMiddleware``) so they add almost nothing per request.
"""

from __future__ import annotations

import functools
import logging
import re
import time
from abc import ABC, abstractmethod
from collections.abc import Callable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service import departures
from service.bodies import BodyReader
from service.errors import ClientLeft, LayerlensError
from service.handlers import error_response
from service.logs import ACCESS_LOGGER
from service.telemetry import Telemetry

access_log = logging.getLogger(ACCESS_LOGGER)
_CONVERTOR = re.compile(r"\{(\w+):\w+\}")


@functools.lru_cache(maxsize=256)
def route_template(path: str) -> str:
    """``/v1/models/{model:model}:predict`` -> ``/v1/models/{model}:predict`` (as documented)."""
    return _CONVERTOR.sub(r"{\1}", path)


def declared_too_large(scope: Scope, max_bytes: int) -> bool:
    """A Content-Length over the limit: refused before a byte of the body is read."""
    for name, value in scope["headers"]:
        if name == b"content-length" and value.isdigit():
            # more digits than the limit has is over it (and int() refuses 5,000 digits)
            return len(value) > len(str(max_bytes)) or int(value) > max_bytes
    return False


async def send_refusal(scope: Scope, receive: Receive, send: Send, error: LayerlensError) -> int:
    """The error answer to a request refused before the app sees it (its headers, or a body
    too large, too slow, too many); the connection is closed, so the rest of the body is never
    read."""
    response = error_response(error, scope["method"], scope["path"])
    response.headers["connection"] = "close"
    await response(scope, receive, send)
    return response.status_code


class HttpMiddleware(ABC):
    """Base of the plain-ASGI middlewares: lifespan and websocket scopes pass straight to the
    app; an HTTP request goes to the subclass's ``handle``."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        await self.handle(scope, receive, send)

    @abstractmethod
    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        raise NotImplementedError


class BodyLimitMiddleware(HttpMiddleware):
    """Reads the whole body first (``service.bodies``: 413 as soon as it passes
    ``max_body_bytes``, 408 when it is too slow, 503 for too many from one address), then
    runs the request so that its long stages stop if the client leaves
    (``service.departures``).

    Counting while reading covers chunked uploads and multipart bodies, which have no
    trustworthy Content-Length; nothing is parsed before the body is known to be small.
    """

    def __init__(self, app: ASGIApp, *, reader: BodyReader) -> None:
        super().__init__(app)
        self.reader = reader

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        if declared_too_large(scope, self.reader.max_bytes):
            await send_refusal(scope, receive, send, self.reader.too_large())
            return
        try:
            # If the client left, the app gets what came and then sees the disconnect.
            body, _complete = await self.reader.read(scope, receive)
        except LayerlensError as error:  # too large, too slow, or too many from one client
            await send_refusal(scope, receive, send, error)
            return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        async def send_answer(message: Message) -> None:
            if message["type"] == "http.response.start":
                departures.responded()  # the end of the request is not its client leaving
            await send(message)

        try:
            await departures.answering(receive, self.app(scope, replay, send_answer))
        except ClientLeft as error:  # nobody receives it; the metrics and the log count it
            await error_response(error, scope["method"], scope["path"])(scope, receive, send)


class RequestRecorder:
    """The metrics and the access-log line of one finished request (one place for both)."""

    def __init__(self, telemetry: Telemetry, *, is_model: Callable[[str], bool]) -> None:
        self.telemetry = telemetry
        #: Only names of loaded models become label values: a request cannot mint series.
        self.is_model = is_model

    def record(self, method: str, template: str, model: str, status: int, seconds: float) -> None:
        if model and not self.is_model(model):
            model = "(unknown)"
        self.telemetry.observe_request(method, template, model, status, seconds)
        if not access_log.isEnabledFor(logging.INFO):
            return
        access_log.info(
            "%s %s model=%s status=%d %.1fms",
            method,
            template,
            model or "-",
            status,
            seconds * 1000,
            extra={
                "method": method,
                "route": template,
                "model": model or None,
                "status": status,
                "duration_ms": round(seconds * 1000, 3),
            },
        )


class ObservabilityMiddleware(HttpMiddleware):
    """One access-log line and the request metrics per HTTP request, by route template."""

    def __init__(self, app: ASGIApp, *, recorder: RequestRecorder) -> None:
        super().__init__(app)
        self.recorder = recorder

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        start = time.perf_counter()
        status = 500

        async def send_and_record(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_and_record)
        finally:
            route = scope.get("route")
            template = route_template(getattr(route, "path", None) or "unmatched")
            model = str(scope.get("path_params", {}).get("model", ""))
            self.recorder.record(
                scope["method"], template, model, status, time.perf_counter() - start
            )
