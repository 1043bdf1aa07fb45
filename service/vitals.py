"""Whether a worker that is up can serve right now: what readiness adds to "started".

Readiness used to say 200 as long as the models were loaded, while 700 slow senders held
every request slot and every other request was answered 503. A worker cannot serve when,
for ``unready_after_s`` (a setting) without a break, one of these holds:

- **its request slots are stuck**: every slot of ``max_in_flight`` is taken and none has
  been freed or passed on, so every new request waits and is refused (slow senders, or
  requests that all hang);
- **a thread pool is wedged**: every thread of the model calls' pool or of decoding's is
  busy and none has finished a job (two 1,000-image uploads hold both decoding threads; a
  model call that hangs holds a model thread);
- **its event loop stalled**: a timer due every ``TICK_S`` came that much late, and then
  readiness stays false for as long again (while the loop is stalled the probe gets no
  answer at all, so a worker that keeps stalling stays out). The timer starts with the
  first readiness probe: with nobody asking, nothing ticks.

Each is held that long before it counts, so a burst (a full pool for a second, a slow
batch) does not flap readiness; the answer names which, for the operator. Readiness is
per worker: with several workers, a probe reaches whichever accepts it. When every worker
of every replica is stuck, a load balancer then has nowhere to send requests, which is
what is true: they would be refused anyway.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

from service.slots import Slots

__all__ = ["LoopStalls", "ProgressPool", "Vitals"]

T = TypeVar("T")
#: How often the event loop's timer ticks (a tick that comes late measures a stall).
TICK_S = 0.25


class ProgressPool(ThreadPoolExecutor):
    """A thread pool that knows since when every thread has been busy with none finishing."""

    def __init__(self, threads: int, *, name: str, prefix: str) -> None:
        """``name``: the pool in readiness's answer; ``prefix``: its threads' names."""
        super().__init__(threads, thread_name_prefix=prefix)
        self.threads = threads
        self.name = name
        self.busy = 0
        #: When the pool last became full (every thread busy) with no job finished since.
        self.full_since: float | None = None
        self._count = threading.Lock()

    def submit(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> Future[T]:
        return super().submit(self._tracked, fn, args, kwargs)

    def _tracked(self, fn: Callable[..., T], args: tuple[Any, ...], kwargs: dict[str, Any]) -> T:
        with self._count:
            self.busy += 1
            if self.busy >= self.threads:
                self.full_since = time.monotonic()
        try:
            return fn(*args, **kwargs)
        finally:
            with self._count:
                self.busy -= 1
                self.full_since = None  # a job finished: the pool moves

    def stuck_for(self, now: float) -> float:
        full_since = self.full_since
        return 0.0 if full_since is None else now - full_since


class LoopStalls:
    """Measures the event loop's stalls: a timer due every TICK_S, and how late it came."""

    def __init__(self) -> None:
        self.last_stall_s = 0.0
        self.last_stall_at = 0.0
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Start ticking on the running loop, once (later calls, and calls off a loop, do
        nothing): the first readiness probe starts it, so nothing ticks unless asked."""
        if self._task is not None:
            return
        with contextlib.suppress(RuntimeError):  # no running loop: nothing to measure
            self._task = asyncio.get_running_loop().create_task(self._tick())

    def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()

    async def _tick(self) -> None:
        while True:
            before = time.monotonic()
            await asyncio.sleep(TICK_S)
            now = time.monotonic()
            late = now - before - TICK_S
            # the largest stall is kept until as long again has passed, then the latest
            if late >= self.last_stall_s or now - self.last_stall_at >= self.last_stall_s:
                self.last_stall_s, self.last_stall_at = late, now


class Vitals:
    """The signs above for one worker; ``problem()`` is "" while it can serve."""

    def __init__(self, *, unready_after_s: float, pools: Sequence[ProgressPool]) -> None:
        self.unready_after_s = unready_after_s
        self.pools = tuple(pools)
        self.slots: Slots | None = None
        """The request slots (``service.admission``), once the front is built."""
        self.loop = LoopStalls()

    def problem(self) -> str:
        """Why this worker cannot serve now, or ""."""
        self.loop.start()
        now = time.monotonic()
        limit = self.unready_after_s
        if self.slots is not None and (stuck := self.slots.stuck_for(now)) >= limit:
            return (
                f"not ready: all {self.slots.limit} request slots (max_in_flight) have been "
                f"held for {stuck:.1f} s with none freed; new requests are refused"
            )
        for pool in self.pools:
            if (stuck := pool.stuck_for(now)) >= limit:
                return (
                    f"not ready: all {pool.threads} threads of the {pool.name} pool have been "
                    f"busy for {stuck:.1f} s with none finishing"
                )
        stall = self.loop.last_stall_s
        if stall >= limit and now - self.loop.last_stall_at < stall:
            return f"not ready: the event loop stalled for {stall:.1f} s"
        return ""
