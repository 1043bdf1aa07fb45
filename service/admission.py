"""The outermost bound: requests in flight per worker; past it, a short wait for a slot
(``service.slots``), then 503 + Retry-After, before the body is read.

Behind it, each model's batcher sheds by predicted queue wait (``service.batching``); this
bound protects what comes before the batcher (reading and decoding bodies), so a flood of
connections gets 503 + Retry-After at once instead of each request's memory and a growing
wait. Liveness, readiness and /metrics are always answered, so probes and scrapes still
see a busy server as alive.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

from service.batching import RETRY_AFTER_S
from service.errors import Overloaded
from service.handlers import error_response
from service.slots import Slots
from service.telemetry import Telemetry

#: Paths answered whatever the load.
ALWAYS_ANSWERED = frozenset({"/v2/health/live", "/v2/health/ready", "/metrics"})
#: A refused request whose declared body is at most this large keeps its connection: the
#: server discards the unread body as it arrives, which costs far less than the client
#: opening a new connection for its next request (under overload, most of them). A larger
#: or undeclared (chunked) body closes the connection rather than be read.
KEEP_ALIVE_MAX_BODY = 64 * 1024


def small_body(scope: Scope) -> bool:
    for name, value in scope["headers"]:
        if name == b"content-length":
            return value.isdigit() and len(value) <= 9 and int(value) <= KEEP_ALIVE_MAX_BODY
        if name == b"transfer-encoding":
            return False
    return True  # no body at all


class InFlightLimit:
    def __init__(
        self,
        app: ASGIApp,
        *,
        limit: int,
        telemetry: Telemetry,
        wait_ms: float = 0.0,
        hold_ms: float = 0.0,
    ) -> None:
        self.app = app
        self.limit = limit
        self.telemetry = telemetry
        self.slots = Slots(limit, wait_ms / 1000.0, hold_ms / 1000.0)

    @property
    def in_flight(self) -> int:
        return self.slots.in_flight

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in ALWAYS_ANSWERED:
            await self.app(scope, receive, send)
            return
        if not (self.slots.try_acquire() or await self.slots.acquire()):
            self.telemetry.requests_shed.labels("in_flight").inc()
            waited = (
                f", none freed up in {1000 * self.slots.wait_s:.0f} ms" if self.slots.wait_s else ""
            )
            error = Overloaded(
                f"the server is overloaded: {self.in_flight} requests are in flight "
                f"(max_in_flight {self.limit}){waited}",
                retry_after_s=RETRY_AFTER_S,
            )
            response = error_response(error, scope["method"], scope["path"])
            if not small_body(scope):
                response.headers["connection"] = "close"  # the body is never read
            await response(scope, receive, send)
            return
        self.telemetry.requests_in_flight.inc()
        try:
            await self.app(scope, receive, send)
        finally:
            self.slots.release()
            self.telemetry.requests_in_flight.dec()
