"""Reading request bodies with bounds on size, time and how many one client sends at once.

Both doors read every body through one :class:`BodyReader` per app (the FastAPI stack's
``BodyLimitMiddleware`` and the fast lane), so the bounds hold whichever door a request
takes:

- **size** (``max_body_bytes``): 413 as soon as the count passes the limit;
- **time** (``body_timeout_s``): the whole body must arrive within it from the first read,
  else 408 and the connection is closed. Nothing timed a body that never came: 700 sockets
  that sent their headers and one byte held every slot of ``max_in_flight`` for as long as
  they liked, and every other request was answered 503;
- **bodies per client address** (``max_bodies_per_client``): one address may be sending at
  most this many bodies at once; one more is refused at once (503 + Retry-After) and its
  connection closed, so idle or slow senders from one address hold a bounded share of the
  in-flight slots. A body that arrives with its headers (nearly every API call) is counted
  for the microseconds it takes to read, so load generators and busy clients are unaffected.

Many addresses at once are a distributed attack, for the edge (a proxy's per-address
limits, docs/security.md), not for one process.

A body the server already holds whole cannot be slow and holds nothing while it is read, so
it skips the bookkeeping of both bounds (a deadline and a count, about 2 us of the 90 us a
small JSON prediction costs in all): uvicorn's receive callable is a method of the request's
cycle, whose ``more_body`` is False and ``message_event`` set once the parser has seen the
end of the body (both of uvicorn 0.55's HTTP/1.1 protocols, tested in
tests/service/test_bodies.py; anything else, e.g. a receive wrapped by a middleware, takes
the bounded path).
"""

from __future__ import annotations

import asyncio

from starlette.types import Receive, Scope

from core.settings import Settings
from service.errors import Overloaded, PayloadTooLarge, RequestTimeout
from service.memory import Trimmer

#: Retry-After of a refused body: a second is enough for the client's other bodies to land.
RETRY_AFTER_S = 1
#: Late reads are looked for every this fraction of body_timeout_s.
SWEEP_FRACTION = 0.25


class BodyReader:
    """Reads bodies within the bounds above; one per app, shared by both doors."""

    def __init__(self, *, max_bytes: int, timeout_s: float, per_client: int) -> None:
        self.max_bytes = max_bytes
        self.timeout_s = timeout_s
        self.per_client = per_client
        #: Bodies being received per client address (absent: none).
        self.receiving: dict[str, int] = {}
        #: Gives memory back once large bodies stop coming (service.memory).
        self.trimmer = Trimmer()
        #: Reads in progress and when each must end; one sweeper task per event loop
        #: cancels the late ones (a timer per request, ``asyncio.timeout``, cost more than
        #: the rest of the read: measured 60-120 us against 0.1 us).
        self._deadlines: dict[asyncio.Task[object], float] = {}
        self._expired: set[asyncio.Task[object]] = set()
        self._sweeper: asyncio.Task[None] | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> BodyReader:
        return cls(
            max_bytes=settings.max_body_bytes,
            timeout_s=settings.body_timeout_s,
            per_client=settings.max_bodies_per_client,
        )

    def too_large(self) -> PayloadTooLarge:
        return PayloadTooLarge(f"request body is larger than the limit of {self.max_bytes} bytes")

    async def read(self, scope: Scope, receive: Receive) -> tuple[bytes, bool]:
        """The body as far as the client sent it, and whether it is complete (False: the
        client left first). Raises PayloadTooLarge, RequestTimeout or Overloaded."""
        if arrived_whole(receive):
            message = await receive()  # returns at once: no deadline, nothing to count
            if message["type"] != "http.request":
                return b"", False
            body = message.get("body", b"")
            if len(body) > self.max_bytes:
                raise self.too_large()
            self.trimmer.after(len(body))
            return body, True
        client = scope.get("client")
        address = client[0] if client else ""
        receiving = self.receiving
        sending = receiving.get(address, 0)
        if sending >= self.per_client:
            raise Overloaded(
                f"{address} is already sending {sending} request bodies "
                f"(max_bodies_per_client {self.per_client})",
                retry_after_s=RETRY_AFTER_S,
            )
        task = asyncio.current_task()
        if task is None:
            raise RuntimeError("BodyReader.read runs in a request's task")
        sweeper = self._sweeper
        if sweeper is None or sweeper.done():
            self._sweeper = task.get_loop().create_task(self._sweep())
        self._deadlines[task] = task.get_loop().time() + self.timeout_s
        receiving[address] = sending + 1
        try:
            body, complete = await self._read(receive)
        except asyncio.CancelledError:
            if task not in self._expired:
                raise
            self._expired.discard(task)
            task.uncancel()
            raise RequestTimeout(
                f"the request body did not arrive within {self.timeout_s:g} s (body_timeout_s)"
            ) from None
        finally:
            del self._deadlines[task]
            left = receiving[address] - 1
            if left:
                receiving[address] = left
            else:
                del receiving[address]
        self.trimmer.after(len(body))
        return body, complete

    async def _sweep(self) -> None:
        """Cancel the reads past their deadline, checking SWEEP_FRACTION of the timeout
        apart (so a body gets body_timeout_s, and at most a quarter more)."""
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(self.timeout_s * SWEEP_FRACTION)
            now = loop.time()
            for task, deadline in list(self._deadlines.items()):
                if deadline <= now and task not in self._expired:
                    self._expired.add(task)
                    task.cancel()

    async def _read(self, receive: Receive) -> tuple[bytes, bool]:
        message = await receive()
        if message["type"] != "http.request":
            return b"", False
        chunk = message.get("body", b"")
        if len(chunk) > self.max_bytes:
            raise self.too_large()
        if not message.get("more_body", False):
            return chunk, True  # the whole body in one message: nearly every API call
        chunks = [chunk]
        size = len(chunk)
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return b"".join(chunks), False
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                raise self.too_large()
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks), True


def arrived_whole(receive: Receive) -> bool:
    """Whether ``receive`` is uvicorn's and the request's whole body is already in memory
    (the next ``receive()`` returns it without waiting)."""
    cycle = getattr(receive, "__self__", None)
    if cycle is None or getattr(cycle, "more_body", True) is not False:
        return False
    event = getattr(cycle, "message_event", None)
    return isinstance(event, asyncio.Event) and event.is_set()
