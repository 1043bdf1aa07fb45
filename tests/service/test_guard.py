"""The request guard's rules on their own (the live attacks are in tests/security)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from service.guard import PAGE_CSP, HostRule, RequestGuard, same_origin

LOOPBACK = ["localhost", "127.0.0.1", "::1"]


@pytest.mark.parametrize(
    ("host", "allowed"),
    [
        ("localhost:8000", True),
        ("LOCALHOST", True),
        ("127.0.0.1:8000", True),
        ("[::1]:8000", True),
        ("attacker.example", False),
        ("localhost.attacker.example", False),
        ("127.0.0.1.nip.io:8000", False),
        ("", False),
    ],
)
def test_loopback_names_only_by_default(host: str, allowed: bool) -> None:
    assert HostRule(LOOPBACK).allows(host) is allowed


def test_suffixes_and_any() -> None:
    rule = HostRule(["api", "*.svc.cluster.local"])
    assert rule.allows("api:8000")
    assert rule.allows("layerlens-api.ml.svc.cluster.local")
    assert not rule.allows("svc.cluster.local.attacker.example")
    assert HostRule(["*"]).allows("anything.example")


def test_same_origin_compares_host_and_port() -> None:
    assert same_origin("http://localhost:8000", "localhost:8000")
    assert not same_origin("http://localhost:8001", "localhost:8000")
    assert not same_origin("http://attacker.example", "localhost:8000")
    assert not same_origin("null", "localhost:8000")


def _call(guard: RequestGuard, **scope: Any) -> tuple[int, dict[bytes, bytes]]:
    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    base = {"type": "http", "method": "GET", "path": "/", "headers": [(b"host", b"localhost")]}
    asyncio.run(guard({**base, **scope}, receive, send))
    start = sent[0]
    return start["status"], dict(start["headers"])


async def _ok(scope: Any, receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"ok"})


def test_guard_answers_and_headers() -> None:
    guard = RequestGuard(_ok, allowed_hosts=LOOPBACK, max_header_bytes=1024, max_header_count=8)
    status, headers = _call(guard)
    assert status == 200
    assert headers[b"content-security-policy"].decode() == PAGE_CSP
    assert headers[b"x-content-type-options"] == b"nosniff"
    status, headers = _call(guard, path="/v1/models")
    assert status == 200 and b"content-security-policy" not in headers  # API answers as before
    assert _call(guard, headers=[(b"host", b"evil.example")])[0] == 400
    assert _call(guard, path="/v2/health/ready", headers=[(b"host", b"10.0.0.7:8000")])[0] == 200
    foreign = [(b"host", b"localhost"), (b"origin", b"http://evil.example")]
    assert _call(guard, method="POST", path="/v1/models/m:predict", headers=foreign)[0] == 403
    assert _call(guard, method="GET", path="/v1/models", headers=foreign)[0] == 200
    own = [(b"host", b"localhost:8000"), (b"origin", b"http://localhost:8000")]
    assert _call(guard, method="POST", path="/v1/models/m:predict", headers=own)[0] == 200
    many = [(b"host", b"localhost")] + [(b"x-%d" % i, b"1") for i in range(8)]
    assert _call(guard, headers=many)[0] == 431
    assert _call(guard, headers=[(b"host", b"localhost"), (b"x", b"a" * 2000)])[0] == 431
