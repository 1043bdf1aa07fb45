"""Giving memory back to the operating system after large requests.

glibc keeps memory that large requests freed (parsed JSON, decoded images, their arrays)
in its per-thread arenas; after a burst a worker stayed gigabytes larger, idle. Measured
on this machine (16 requests of three 3000x2000 PNGs plus 3000x784 JSON, four threads):
RSS grew from 83 to 219 MB and stayed there; ``malloc_trim(0)`` brought it to 114 MB
(with ``MALLOC_ARENA_MAX=2``: 181 MB, then 80 MB). So once large bodies stop coming,
:class:`Trimmer` calls ``malloc_trim`` in a thread: each large body (re)starts a short
timer, so a burst costs one trim after its end, and a steady load of small requests none.
On a C library without ``malloc_trim`` (musl, macOS) it does nothing.
"""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import logging
from collections.abc import Callable

logger = logging.getLogger(__name__)

#: Bodies at least this large are followed by a trim once they stop coming.
TRIM_AFTER_BYTES = 1024 * 1024
#: How long after the last large body the trim runs.
TRIM_DELAY_S = 2.0


def _malloc_trim() -> Callable[[], None] | None:
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name) if name else None
    except OSError:
        return None
    trim = getattr(libc, "malloc_trim", None)
    if trim is None:
        return None
    return lambda: trim(0)


_TRIM = _malloc_trim()


def trim_now() -> None:
    """``malloc_trim(0)`` now (where the C library has it), after a one-off large job such
    as an XLA compile (``service.runtime.compiled_paths``), whose arenas would stay."""
    if _TRIM is not None:
        _TRIM()


class Trimmer:
    """Debounced ``malloc_trim``: :meth:`after` each large body, one trim after a burst."""

    def __init__(self, *, delay_s: float = TRIM_DELAY_S) -> None:
        self.delay_s = delay_s
        self.trim = _malloc_trim()
        self._timer: asyncio.TimerHandle | None = None
        self.trims = 0

    def after(self, size: int) -> None:
        """Called on the event loop with a body's size."""
        if self.trim is None or size < TRIM_AFTER_BYTES:
            return
        if self._timer is not None:
            self._timer.cancel()
        loop = asyncio.get_running_loop()
        self._timer = loop.call_later(self.delay_s, self._start)

    def _start(self) -> None:
        self._timer = None
        future = asyncio.get_running_loop().run_in_executor(None, self._run)
        future.add_done_callback(lambda _f: None)

    def _run(self) -> None:
        if self.trim is not None:
            self.trim()
            self.trims += 1
