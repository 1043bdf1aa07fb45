"""An event loop for bursts of connections: asyncio's selector loop, accepting a bounded
batch of connections per wake-up (``FairAcceptLoop``), chosen by
``Settings.event_loop=fair-accept``. uvloop stays the default: it serves each request with
5-7% less CPU (benchmarks/README.md), which every deployment pays for, while the burst this
loop answers is one some deployments meet (and a proxy in front, ``deploy/edge``, also
answers it).

What uvloop does with a burst: libuv accepts one connection per loop
iteration (a 2022 change, libuv pull request 3696). When a client opens many connections at
once (wrk's 1,024, a proxy's pool, every client reconnecting after a restart), a worker
whose iteration serves hundreds of requests accepts a few connections per second; the
rest wait in the kernel's accept queue, their first request unread, for seconds. Measured
(issue 26, 1,024 wrk connections against 2 workers, a busy machine): halfway through a 16 s
run the workers had accepted 770 of them, and the 200s' p99 was 3.6 s with 197 wrk
timeouts.

Why not asyncio's loop as it comes: it accepts up to ``backlog`` connections per wake-up
(uvicorn's 2,048), so the worker that wakes first takes the whole burst from the shared
listening socket and the other serves nothing (measured: 1,024 connections to one worker).

A bounded batch does both: every worker is woken while connections are pending
(level-triggered, the socket shared), each takes at most ``ACCEPT_BATCH`` per wake-up, so a
burst drains within a few iterations and spreads evenly (measured: 503 and 521 of 1,024
within 2 s; 200s' p99 540 ms, no timeouts, 1.3x the 200s per second of uvloop in the same
minutes). The listen backlog itself is unchanged.
"""

from __future__ import annotations

import asyncio
import socket
from typing import Any

#: Most connections one worker accepts per wake-up of its listening socket.
ACCEPT_BATCH = 16


class FairAcceptLoop(asyncio.SelectorEventLoop):
    """asyncio's selector loop, accepting at most ``ACCEPT_BATCH`` connections per wake-up.

    It narrows asyncio's own accept step (``_accept_connection``, whose ``backlog``
    argument is the number accepted per wake-up); tests/service/test_eventloop.py fails
    if that step changes shape in a new Python.
    """

    def _accept_connection(  # type: ignore[override]
        self,
        protocol_factory: Any,
        sock: socket.socket,
        sslcontext: Any = None,
        server: Any = None,
        backlog: int = 100,
        *args: Any,
        **kwargs: Any,
    ) -> None:
        super()._accept_connection(  # type: ignore[misc]
            protocol_factory, sock, sslcontext, server, min(backlog, ACCEPT_BATCH), *args, **kwargs
        )
