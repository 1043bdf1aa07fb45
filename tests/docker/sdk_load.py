"""Steady load through the real SDK: a few threads, one ``Client`` each, calling back to
back and recording every call: when it started and ended, whether it succeeded in the end,
and how many retries the SDK made for it (``Client.retry_stats``, exact with one client
per thread). Calls are grouped into phases by when they started.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from dataclasses import KW_ONLY, dataclass, field

from clients import Client, LayerlensError
from tests.docker.threads import LoadThreads

#: One SDK call, e.g. ``lambda c: c.predict("xor", [[0, 1]])``.
Call = Callable[[Client], object]


@dataclass(frozen=True)
class Outcome:
    started: float  # time.monotonic()
    ended: float
    retries: int  # attempts after the first, made by the SDK
    error: str | None  # the exception the caller got, if any
    causes: tuple[str, ...] = ()  # what each retry followed ("502", "ReadError", ...)

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass(frozen=True)
class PhaseCounts:
    """What the load saw during one phase (calls that started in it)."""

    name: str
    sent: int
    failed: int
    retried: int  # calls that needed at least one retry (and then succeeded, or failed)
    retries: int  # retries in all
    causes: dict[str, int]  # what the retries followed

    def row(self) -> str:
        return f"| {self.name} | {self.sent} | {self.failed} | {self.retried} | {self.retries} |"


@dataclass
class SdkLoad(LoadThreads):
    url: str
    call: Call
    _: KW_ONLY
    threads: int = 4
    outcomes: list[Outcome] = field(default_factory=list)

    NAME = "sdk-load"
    JOIN_TIMEOUT_S = 120

    def _loop(self) -> None:
        with Client(self.url) as client:
            stats = client.retry_stats
            while not self._stop.is_set():
                before, causes_before = stats.retries, dict(stats.causes)
                started = time.monotonic()
                error = None
                try:
                    self.call(client)
                except LayerlensError as exc:
                    error = f"{type(exc).__name__}: {exc}"
                    time.sleep(0.05)  # the failure is counted; do not spin on it
                causes = tuple(
                    cause
                    for cause, n in stats.causes.items()
                    for _ in range(n - causes_before.get(cause, 0))
                )
                self._record(
                    Outcome(started, time.monotonic(), stats.retries - before, error, causes)
                )

    def between(self, start: float, end: float) -> list[Outcome]:
        with self._lock:
            return [o for o in self.outcomes if start <= o.started < end]

    def counts(self, name: str, start: float, end: float) -> PhaseCounts:
        calls = self.between(start, end)
        return PhaseCounts(
            name=name,
            sent=len(calls),
            failed=sum(not o.ok for o in calls),
            retried=sum(o.retries > 0 for o in calls),
            retries=sum(o.retries for o in calls),
            causes=dict(Counter(cause for o in calls for cause in o.causes)),
        )
