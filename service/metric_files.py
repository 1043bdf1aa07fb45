"""The workers' shared metrics files, made so that a full or unwritable folder degrades
the metrics instead of killing the worker.

prometheus-client keeps each worker's values in memory-mapped files
(``PROMETHEUS_MULTIPROC_DIR``). It makes a file, or grows it, by ``truncate``: on tmpfs
(the usual ``/tmp``) that only sets the size and allocates nothing, so when the folder is
full the first write through the mapping finds no page to back it and the kernel sends
SIGBUS. Measured on a 64 KiB tmpfs filled up: ``Counter("x", "y")`` dies with a bus error
(exit 135) and no traceback, and a worker builds its counters at start-up, so each
replacement died the same way: the crash loop of issue 31 (1,117 deaths in 30 minutes).

Here the space is reserved before it is mapped: ``posix_fallocate`` allocates the blocks
or fails with ``ENOSPC`` (an exception, not a signal). A new file is reserved under a
name the scrape does not read and renamed into place once whole, so a scrape never meets
a half-made file (prometheus-client's reader fails on an empty ``.db``). When a value
cannot be placed (folder full, gone or unwritable), that value lives in the worker's own
memory instead: the worker serves on, its metric goes on counting, the reason is logged
once with its traceback, and ``unshared_values()`` counts them (the scrape reports the
answering worker's count as ``layerlens_metrics_unshared_values``). A scrape merges only
the files, so it misses those values until the worker is replaced with space available.
Updating a value that exists never allocates: its bytes were reserved when it was made.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from prometheus_client import values as prometheus_values
from prometheus_client.metrics_core import GaugeMetricFamily
from prometheus_client.mmap_dict import MmapedDict
from prometheus_client.registry import Collector

__all__ = ["ReservedMmapedDict", "UnsharedCollector", "resilient", "unshared_values"]

logger = logging.getLogger("layerlens.metrics")

#: prometheus-client's first size of a file (``mmap_dict._INITIAL_MMAP_SIZE``).
INITIAL_SIZE = 1 << 16


class _Refusals:
    """How many values the folder refused in this process (one count per process)."""

    def __init__(self) -> None:
        self.count = 0
        self._lock = threading.Lock()

    def add(self) -> int:
        with self._lock:
            self.count += 1
            return self.count


_refusals = _Refusals()


def unshared_values() -> int:
    """How many metric values this process keeps in its own memory (the folder refused them)."""
    return _refusals.count


def _allocate(fd: int, size: int) -> None:
    """Blocks for the first ``size`` bytes of ``fd``, or OSError (ENOSPC). Where the platform
    has no ``posix_fallocate`` (macOS), the size alone, as prometheus-client does."""
    if hasattr(os, "posix_fallocate"):
        os.posix_fallocate(fd, 0, size)
    elif os.fstat(fd).st_size < size:
        os.ftruncate(fd, size)


def _reserve_new_file(filename: str) -> None:
    """Make ``filename`` with ``INITIAL_SIZE`` bytes allocated, or raise ``OSError``."""
    staging = Path(f"{filename}.{os.getpid()}.reserving")  # not ``*.db``: the scrape skips it
    fd = os.open(staging, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        _allocate(fd, INITIAL_SIZE)
    except OSError:
        os.close(fd)
        staging.unlink()
        raise
    os.close(fd)
    staging.replace(filename)


def _entry_size(key: str) -> int:
    """The bytes prometheus-client's ``MmapedDict._init_value`` appends for ``key``."""
    encoded = len(key.encode("utf-8"))
    return 4 + encoded + (8 - (encoded + 4) % 8) + 16


class ReservedMmapedDict(MmapedDict):
    """prometheus-client's file of values, with every byte reserved before it is mapped."""

    def __init__(self, filename: str, read_mode: bool = False) -> None:
        if not read_mode and not Path(filename).exists():
            _reserve_new_file(filename)
        super().__init__(filename, read_mode)

    def _init_value(self, key: str) -> None:
        capacity = self._capacity
        while self._used + _entry_size(key) > capacity:
            capacity *= 2  # as the parent grows it; the parent's truncate then changes nothing
        if capacity != self._capacity:
            _allocate(self._f.fileno(), capacity)
        super()._init_value(key)


def _refused(error: OSError) -> None:
    if _refusals.add() == 1:
        logger.error(
            "the metrics folder refused a value (%s): this worker keeps that value, and any "
            "other the folder refuses, in its own memory; it serves on, but a scrape will "
            "miss them (layerlens_metrics_unshared_values counts them)",
            error,
            exc_info=error,
        )


def resilient(value_class: Callable[..., Any]) -> Callable[..., Any]:
    """``value_class`` (prometheus-client's multiprocess values), falling back to a value in
    the process's memory when its file cannot be made or grown."""

    def make(*args: Any, **kwargs: Any) -> Any:
        try:
            return value_class(*args, **kwargs)
        except OSError as error:
            _refused(error)
            return prometheus_values.MutexValue(*args, **kwargs)

    make._multiprocess = True  # type: ignore[attr-defined]  # what prometheus-client checks
    return make


def install() -> None:
    """Make prometheus-client's multiprocess values through :class:`ReservedMmapedDict`.

    ``MultiProcessValue`` looks ``MmapedDict`` up in its module each time it opens a file,
    so replacing that name is enough; call before any metric is built."""
    prometheus_values.MmapedDict = ReservedMmapedDict  # type: ignore[misc]


class UnsharedCollector(Collector):
    """``layerlens_metrics_unshared_values``: the answering worker's count of values kept
    out of the shared folder (0 when the folder has room)."""

    def collect(self) -> Iterator[GaugeMetricFamily]:
        yield GaugeMetricFamily(
            "layerlens_metrics_unshared_values",
            "Metric values the worker answering this scrape keeps in its own memory because "
            "the shared metrics folder refused them (full, gone or unwritable); the scrape "
            "misses those values.",
            value=unshared_values(),
        )
