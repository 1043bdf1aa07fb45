"""The workers' event loop (service/eventloop.py): a burst of connections is accepted a
bounded batch per wake-up, so every worker sharing the listening socket takes a share at
once, where uvloop takes one per iteration and asyncio's own loop the whole burst."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator
from contextlib import ExitStack, closing, contextmanager
from typing import ClassVar

import pytest
from uvicorn.importer import import_from_string

from core.settings import Settings
from service.__main__ import EVENT_LOOPS, uvicorn_options
from service.eventloop import ACCEPT_BATCH, FairAcceptLoop

BURST = 40


class Recorder(asyncio.Protocol):
    made: ClassVar[list[asyncio.BaseTransport]] = []

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        Recorder.made.append(transport)


@contextmanager
def burst() -> Iterator[socket.socket]:
    """A listening socket with ``BURST`` connections completed by the kernel, none accepted."""
    with ExitStack() as stack:
        listener = stack.enter_context(closing(socket.create_server(("127.0.0.1", 0), backlog=128)))
        listener.setblocking(False)
        for _ in range(BURST):
            stack.enter_context(closing(socket.create_connection(listener.getsockname())))
        yield listener


def left_in_queue(listener: socket.socket) -> int:
    left = 0
    while True:
        try:
            conn, _ = listener.accept()
        except BlockingIOError:
            return left
        conn.close()
        left += 1


def accepted_in_one_wake_up(loop: asyncio.AbstractEventLoop) -> tuple[int, int]:
    """(connections accepted, connections left) by one wake-up of ``loop``'s accept step,
    given uvicorn's backlog of 2,048 as asyncio's per-wake-up limit."""
    Recorder.made = []
    try:
        with burst() as listener:
            loop._accept_connection(Recorder, listener, backlog=2048)  # type: ignore[attr-defined]
            left = left_in_queue(listener)
            loop.run_until_complete(asyncio.sleep(0.05))  # the accepted ones are set up
            accepted = len(Recorder.made)
            for transport in Recorder.made:
                transport.close()
            loop.run_until_complete(asyncio.sleep(0))
    finally:
        loop.close()
    return accepted, left


def test_one_wake_up_accepts_a_bounded_batch_and_leaves_the_rest_for_the_other_workers() -> None:
    assert accepted_in_one_wake_up(FairAcceptLoop()) == (ACCEPT_BATCH, BURST - ACCEPT_BATCH)


def test_asyncios_own_loop_would_take_the_whole_burst_into_one_worker() -> None:
    # The behaviour FairAcceptLoop exists to change; if a new Python changes it, this says so.
    assert accepted_in_one_wake_up(asyncio.SelectorEventLoop()) == (BURST, 0)


@pytest.mark.parametrize("choice", ["fair-accept", "uvloop"])
def test_the_setting_chooses_the_loop_uvicorn_runs(choice: str) -> None:
    options = uvicorn_options(Settings(event_loop=choice), workers=2)
    assert options["loop"] == EVENT_LOOPS[choice]
    if choice == "fair-accept":
        assert import_from_string(options["loop"]) is FairAcceptLoop


def test_the_default_is_uvloop() -> None:
    """The fair-accepting loop costs every request CPU; it is an operator's choice."""
    assert Settings.model_fields["event_loop"].default == "uvloop"
