"""Steady request load from threads, recording every request's outcome and timing.

Used to stop the API under load: a request the server never accepted (connection refused
or timed out while connecting) is fine - a load balancer retries it elsewhere; any other
outcome than a 200 answer is a request the server accepted and dropped.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from dataclasses import KW_ONLY, dataclass, field

import httpx

from tests.docker.threads import LoadThreads

CONNECT_TIMEOUT_S = 2.0
READ_TIMEOUT_S = 60.0

#: Sends one request on ``client`` and returns its response.
Send = Callable[[httpx.Client], httpx.Response]


@dataclass(frozen=True)
class Outcome:
    started: float
    ended: float
    status: int | None  # HTTP status, or None when no response came
    error: str | None  # exception class name when no response came
    refused: bool  # the connection was never established: not accepted
    detail: str = ""  # the exception's message, e.g. "Server disconnected without ..."

    @property
    def never_answered(self) -> bool:
        """Closed by the server before any byte of an answer: reset (ReadError) or
        closed unread ("disconnected without sending a response"), never a partial answer."""
        if self.status is not None:
            return False
        return self.error == "ReadError" or (
            self.error == "RemoteProtocolError" and "without sending a response" in self.detail
        )


@dataclass
class LoadRun(LoadThreads):
    """Threads that each send requests back to back until stopped."""

    send: Send
    _: KW_ONLY
    outcomes: list[Outcome] = field(default_factory=list)

    JOIN_TIMEOUT_S = READ_TIMEOUT_S + 5

    def _loop(self) -> None:
        timeout = httpx.Timeout(READ_TIMEOUT_S, connect=CONNECT_TIMEOUT_S)
        # No keep-alive: every request opens its own connection, so a refused connection
        # means "not accepted" and never "an idle pooled connection the server closed".
        limits = httpx.Limits(max_keepalive_connections=0)
        with httpx.Client(timeout=timeout, limits=limits) as client:
            while not self._stop.is_set():
                self._record(self._one(client))

    def _one(self, client: httpx.Client) -> Outcome:
        started = time.monotonic()
        try:
            response = self.send(client)
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            time.sleep(0.05)  # the server is gone or going: do not spin
            return Outcome(started, time.monotonic(), None, type(exc).__name__, refused=True)
        except httpx.HTTPError as exc:
            return Outcome(
                started,
                time.monotonic(),
                None,
                type(exc).__name__,
                refused=False,
                detail=str(exc)[:200],
            )
        return Outcome(started, time.monotonic(), response.status_code, None, refused=False)

    # --- reading the results ------------------------------------------------------------

    def ok(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.status == 200]

    def dropped(self) -> list[Outcome]:
        """Neither refused nor answered 200."""
        return [o for o in self.outcomes if not o.refused and o.status != 200]

    def sent_before(self, moment: float) -> list[Outcome]:
        return [o for o in self.outcomes if o.started < moment]

    def in_flight_at(self, moment: float) -> list[Outcome]:
        """Requests under way at ``moment`` (time.monotonic) that were answered 200."""
        return [o for o in self.ok() if o.started < moment < o.ended]

    def summary(self) -> str:
        kinds = Counter(
            str(o.status) if o.status is not None else f"{o.error}{' (refused)' * o.refused}"
            for o in self.outcomes
        )
        return ", ".join(f"{kind}: {count}" for kind, count in sorted(kinds.items()))
