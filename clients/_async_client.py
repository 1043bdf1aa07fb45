"""The asyncio client: performs the shared operations' actions over an ``httpx.AsyncClient``."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, TypeVar

import httpx

from clients._exchange import Action, Outcome, Sleep
from clients._methods import BaseClient
from clients.ops._batches import Op

R = TypeVar("R")


class AsyncClient(BaseClient[httpx.AsyncBaseTransport]):
    """A layerlens service, one coroutine per route; see ``Client`` for the behaviour.

    ``AsyncClient()`` talks to ``LAYERLENS_URL`` (default http://127.0.0.1:8000). Connection
    errors and 503 answers are retried with exponential backoff; every other failure raises
    a ``clients.errors`` exception carrying the server's message and status.
    Use it as ``async with``, or call ``await aclose()``.
    """

    _http_class = httpx.AsyncClient
    _http: httpx.AsyncClient

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    @staticmethod
    def _drive(build: Callable[..., Op[Any]]) -> Callable[..., Any]:
        async def method(self: AsyncClient, *args: Any, **kwargs: Any) -> Any:
            return await self._run(build(self, *args, **kwargs))

        return method

    async def _run(self, op: Op[R]) -> R:
        exchange = self._exchange(op)
        while exchange.action is not None:
            exchange.answer(await self._perform(exchange.action))
        return exchange.result

    async def _perform(self, action: Action) -> Outcome:
        if isinstance(action, Sleep):
            await asyncio.sleep(action.seconds)
            return None
        try:
            return await self._http.request(action.method, action.path, **action.httpx_kwargs())
        except httpx.TransportError as exc:
            return exc


__all__ = ["AsyncClient"]
