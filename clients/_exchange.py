"""A client's side of the conversation as steps, with no I/O. An operation's requests become
actions (``Request``: send this; ``Sleep``: wait this long), retried and cached under one
policy, so ``Client`` and ``AsyncClient`` differ only in how they perform an action."""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import httpx

from clients._http import (
    Request,
    RetryBudget,
    RetryPolicy,
    RetryStats,
    read_response,
    transport_failure,
)
from clients.ops._batches import Op

R = TypeVar("R")


@dataclass(frozen=True)
class Sleep:
    """Wait before the next attempt (backoff, or the server's Retry-After)."""

    seconds: float


Action = Request | Sleep
#: What performing an action gives back: the response, the transport error it raised, or
#: None after a sleep. Errors come back as values so the retry decision stays here.
Outcome = httpx.Response | httpx.TransportError | None


@dataclass
class Session:
    """What outlives one call: where the service is, the retry policy and its budget, and
    the replies that never change (a model version's metadata, dataset examples)."""

    base_url: str
    retry: RetryPolicy
    cache: dict[str, Any]
    budget: RetryBudget = field(default_factory=RetryBudget)
    stats: RetryStats = field(default_factory=RetryStats)

    def exchange(self, op: Op[R]) -> Exchange[R]:
        return Exchange(self._steps(op))

    def _steps(self, op: Op[R]) -> Generator[Action, Outcome, R]:
        try:
            request = next(op)
            while True:
                request = op.send((yield from self._send(request)))
        except StopIteration as stop:
            return stop.value

    def _send(self, request: Request) -> Generator[Action, Outcome, Any]:
        """One request's attempts: connection failures and 502/503/504 answers are retried
        with backoff while the retry budget allows; the decoded reply (or the server's error
        raised) comes back."""
        if request.cacheable and request.path in self.cache:
            return self.cache[request.path]
        attempt = 0
        self.budget.sent()
        self.stats.requests += 1
        while True:
            outcome = yield request
            if isinstance(outcome, httpx.TransportError):
                retry = self.retry.should_retry_exception(outcome, attempt)
                if not (retry and self._may_retry()):
                    raise transport_failure(outcome, self.base_url + request.path) from outcome
                delay = self.retry.delay(attempt)
                cause = type(outcome).__name__
            elif isinstance(outcome, httpx.Response):
                retry = self.retry.should_retry_status(request, outcome, attempt)
                if not (retry and self._may_retry()):
                    break
                delay = self.retry.delay(attempt, outcome.headers.get("Retry-After"))
                cause = str(outcome.status_code)
            else:
                raise TypeError(f"a request was answered with {outcome!r}, not a response")
            self.stats.retried(cause)
            yield Sleep(delay)
            attempt += 1
        reply = read_response(request, outcome)
        if request.cacheable:
            self.cache[request.path] = reply
        return reply

    def _may_retry(self) -> bool:
        """The policy said yes; the budget decides (and a refusal is counted)."""
        if self.budget.take():
            return True
        self.stats.budget_denied += 1
        return False


class Exchange(Generic[R]):
    """One operation under way. The driver performs ``action`` and hands back what came of
    it with ``answer``, until ``action`` is None; then ``result`` holds the return value."""

    def __init__(self, steps: Generator[Action, Outcome, R]) -> None:
        self._steps = steps
        self.action: Action | None = None
        self.result: R
        self.answer(None)

    def answer(self, outcome: Outcome) -> None:
        try:
            self.action = self._steps.send(outcome)
        except StopIteration as stop:
            self.action = None
            self.result = stop.value
