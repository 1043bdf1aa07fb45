"""Slots for the requests a worker serves at once, and a short FIFO wait for one.

Why a wait and not an instant refusal: under overload the clients that are refused come
back at once (wrk, or any naive retrier), so an instant 503 turns into another request to
parse and refuse a moment later; measured with wrk at 1,024 connections, refusals at once
took half the CPU the server needed for serving (2,384 200s/s against 5,400 at 32
connections). A request that waits for a slot costs no CPU (a future and a timer); most
waiting requests get a slot within the wait, so they are served instead of refused, and
what would wait longer than ``wait_s`` is refused, so accepted requests keep a bounded
latency (the wait plus their own service time). A refusal is then held ``hold_s`` more
before it is answered: a closed-loop client that retries at once is paced to one request
per wait and hold instead of a storm of them (with 1,024 such clients and the hold, the
refused ones come back a few hundred times a second, not thousands), and a held refusal
costs a timer, not CPU. A client that honours Retry-After loses nothing it would not have
waited anyway.

Waiters are bounded by the open connections (HTTP/1.1 carries one request at a time), and
hold only their headers: the body is read once a slot is granted.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import time


class Slots:
    """``limit`` requests at once; the rest wait, first come first served, ``wait_s`` at most,
    and a refusal is held ``hold_s`` before it is returned.

    Used from one event loop (a worker's); not thread-safe.
    """

    def __init__(self, limit: int, wait_s: float, hold_s: float = 0.0) -> None:
        if limit < 1 or wait_s < 0 or hold_s < 0:
            raise ValueError("limit must be >= 1, wait_s and hold_s >= 0")
        self.limit = limit
        self.wait_s = wait_s
        self.hold_s = hold_s
        self.in_flight = 0
        #: Since when every slot has been taken with none freed or passed on (readiness,
        #: service.vitals); None while a slot is free.
        self.stuck_since: float | None = None
        self._waiters: collections.deque[asyncio.Future[bool]] = collections.deque()

    @property
    def waiting(self) -> int:
        """Requests waiting for a slot."""
        return len(self._waiters)

    def try_acquire(self) -> bool:
        """A free slot at once (call :meth:`release` after), or False: then :meth:`acquire`
        waits for one. (Synchronous, so the common case costs no coroutine.)"""
        if self.in_flight < self.limit and not self._waiters:
            self.in_flight += 1
            if self.in_flight == self.limit:
                self.stuck_since = time.monotonic()
            return True
        return False

    async def acquire(self) -> bool:
        """True once the caller holds a slot (call :meth:`release` after); False when none
        freed up within ``wait_s``, ``hold_s`` later."""
        if self.try_acquire():
            return True
        if not await self._wait_for_slot():
            if self.hold_s:
                await asyncio.sleep(self.hold_s)
            return False
        return True

    async def _wait_for_slot(self) -> bool:
        if self.wait_s == 0:
            return False
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[bool] = loop.create_future()
        self._waiters.append(waiter)
        timer = loop.call_later(self.wait_s, _refuse, waiter)
        try:
            granted = await waiter
        except asyncio.CancelledError:
            # The client left while waiting; a slot granted in that instant is given on.
            if waiter.done() and not waiter.cancelled() and waiter.result():
                self.release()
            else:
                self._forget(waiter)
            raise
        finally:
            timer.cancel()
        if not granted:
            self._forget(waiter)
        return granted

    def release(self) -> None:
        """Give the slot to the longest waiter still waiting, or free it."""
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(True)  # the slot passes on: in_flight unchanged
                self.stuck_since = time.monotonic()  # but a request finished
                return
        self.in_flight -= 1
        self.stuck_since = None

    def stuck_for(self, now: float) -> float:
        """Seconds every slot has been held with none freed or passed on (0: one is free)."""
        stuck_since = self.stuck_since
        return 0.0 if stuck_since is None else now - stuck_since

    def _forget(self, waiter: asyncio.Future[bool]) -> None:
        with contextlib.suppress(ValueError):  # already handed a slot, or never queued
            self._waiters.remove(waiter)


def _refuse(waiter: asyncio.Future[bool]) -> None:
    if not waiter.done():
        waiter.set_result(False)
