"""The SDK covers every route the service publishes: a new route without a client method
fails here."""

from __future__ import annotations

import re

import httpx

from clients import AsyncClient, Client
from clients.routes import ROUTES

HTTP_METHODS = {"get", "post", "put", "patch", "delete"}


def normalise(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "{}", path)


def test_every_openapi_route_has_a_client_method(live_server) -> None:
    spec = httpx.get(f"{live_server.url}/openapi.json", timeout=30.0).json()
    published = {
        (method.upper(), normalise(path))
        for path, operations in spec["paths"].items()
        for method in operations
        if method in HTTP_METHODS
    }
    missing = sorted(published - set(ROUTES))
    assert not missing, f"routes without a client method: {missing}"
    stale = sorted(set(ROUTES) - published)
    assert not stale, f"client routes the service does not publish: {stale}"


def test_every_route_method_exists_on_both_clients() -> None:
    for name in set(ROUTES.values()):
        assert callable(getattr(Client, name, None)), f"Client.{name} is missing"
        assert callable(getattr(AsyncClient, name, None)), f"AsyncClient.{name} is missing"
