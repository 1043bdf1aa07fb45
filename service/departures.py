"""Stopping the work of a request whose client has gone.

uvicorn (0.55, httptools and h11 alike) never cancels the application's task when a client
disconnects: it marks the request disconnected, answers the next ``receive()`` with
``http.disconnect`` and drops whatever the application sends. So a request went on to the
end for nobody: 1,000 large PNGs decoded after their client left, an ``:explain`` ran every
step, and the threads they held were not there for the clients still waiting.

Both doors read the body first (``service.bodies``), then run the request inside
:func:`answering`, which makes a :class:`Departure` for it. Watching costs a task per
request, which the hot path (small JSON and PNG predictions, a few hundred microseconds
each) cannot afford and does not need, so the stages that may run long arm the watch
themselves (:func:`watch`): decoding in a thread, the explanation. Once armed, the next
``receive()`` is the disconnect (the body has been read); the watcher then cancels the
request's task, which stops whatever it awaits: a decode thread's result, a queued batch
(the batcher drops a cancelled request from its batch), a gradient call. Work already in a
thread stops at its next check of :meth:`Departure.check` (between images, between chunks
of gradient rows). The request ends with :class:`~service.errors.ClientLeft` (499, the
status nginx logs for it), which nobody receives but the metrics and the access log count.

gRPC has its own cancellation (its context), so its calls never have a departure.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from contextvars import ContextVar
from typing import TypeVar

from starlette.types import Receive

from service.errors import ClientLeft

__all__ = ["Departure", "answering", "current", "responded", "stage", "watch"]

T = TypeVar("T")

_current: ContextVar[Departure | None] = ContextVar("layerlens_departure", default=None)


class Departure:
    """One request's client, whose leaving cancels the request once :meth:`watch` is armed."""

    __slots__ = ("_task", "_watcher", "gone", "receive", "responded", "stage")

    def __init__(self, receive: Receive, task: asyncio.Task[object]) -> None:
        self.receive = receive
        self._task = task
        self._watcher: asyncio.Task[None] | None = None
        self.gone = False
        """Set (on the event loop) when the client has gone; read from threads too."""
        self.responded = False
        """The response has started: what remains is sending it, and uvicorn answers
        ``receive()`` with ``http.disconnect`` once it is sent, so nothing is cancelled."""
        self.stage = ""

    def watch(self, stage: str) -> None:
        """From now on, the client leaving cancels the request; ``stage`` names what it
        was doing (decode, batch, explain) in the 499's message."""
        self.stage = stage
        if self._watcher is None:
            self._watcher = asyncio.get_running_loop().create_task(self._wait())

    @property
    def watched(self) -> bool:
        return self._watcher is not None

    def check(self) -> None:
        """Raise ClientLeft if the client has gone: for work in a thread, between steps."""
        if self.gone:
            raise self.error()

    def error(self) -> ClientLeft:
        return ClientLeft(f"the client left; the request stopped at {self.stage or 'a stage'}")

    async def _wait(self) -> None:
        while (await self.receive())["type"] != "http.disconnect":
            pass  # an empty body message: keep waiting for the disconnect
        if self.responded:
            return
        self.gone = True
        self._task.cancel()

    def close(self) -> None:
        if self._watcher is not None:
            self._watcher.cancel()


def current() -> Departure | None:
    """The running request's departure (None outside a request read by a door, e.g. gRPC)."""
    return _current.get()


def watch(stage: str) -> Departure | None:
    """Arm the running request's watch before a stage that may run long; its departure."""
    departure = _current.get()
    if departure is not None:
        departure.watch(stage)
    return departure


def responded() -> None:
    """The running request's response has started (a door's ``send`` says so)."""
    departure = _current.get()
    if departure is not None:
        departure.responded = True


def stage(name: str) -> None:
    """Name the stage a watched request is at (a request not watched stays unwatched)."""
    departure = _current.get()
    if departure is not None and departure.watched:
        departure.stage = name


async def answering(receive: Receive, work: Awaitable[T]) -> T:
    """``await work`` for a request whose body has been read from ``receive``; raises
    ClientLeft instead of CancelledError when the watch cancelled it."""
    task = asyncio.current_task()
    if task is None:
        raise RuntimeError("answering runs in a request's task")
    departure = Departure(receive, task)
    token = _current.set(departure)
    try:
        return await work
    except asyncio.CancelledError:
        if not departure.gone:
            raise
        task.uncancel()
        raise departure.error() from None
    finally:
        _current.reset(token)
        departure.close()
