"""The blocking client: performs the shared operations' actions over an ``httpx.Client``."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypeVar

import httpx

from clients._exchange import Action, Outcome, Sleep
from clients._methods import BaseClient
from clients.ops._batches import Op

R = TypeVar("R")


class Client(BaseClient[httpx.BaseTransport]):
    """A layerlens service, one method per route.

    ``Client()`` talks to ``LAYERLENS_URL`` (default http://127.0.0.1:8000). Connection
    errors and 503 answers are retried with exponential backoff; every other failure raises
    a ``clients.errors`` exception carrying the server's message and status.
    Use it as a context manager, or call ``close()``.
    """

    _http_class = httpx.Client
    _http: httpx.Client

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    @staticmethod
    def _drive(build: Callable[..., Op[Any]]) -> Callable[..., Any]:
        def method(self: Client, *args: Any, **kwargs: Any) -> Any:
            return self._run(build(self, *args, **kwargs))

        return method

    def _run(self, op: Op[R]) -> R:
        exchange = self._exchange(op)
        while exchange.action is not None:
            exchange.answer(self._perform(exchange.action))
        return exchange.result

    def _perform(self, action: Action) -> Outcome:
        if isinstance(action, Sleep):
            time.sleep(action.seconds)
            return None
        try:
            return self._http.request(action.method, action.path, **action.httpx_kwargs())
        except httpx.TransportError as exc:
            return exc


__all__ = ["Client"]
