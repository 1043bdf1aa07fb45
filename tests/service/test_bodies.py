"""The body reader's bounds (size, time, bodies per address) on their own; the live
slow-sender attack is in tests/security."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from service.bodies import BodyReader
from service.errors import Overloaded, PayloadTooLarge, RequestTimeout


def _reader(**options: Any) -> BodyReader:
    values = {"max_bytes": 100, "timeout_s": 0.2, "per_client": 2, **options}
    return BodyReader(**values)


def _scope(address: str = "10.0.0.1") -> dict[str, Any]:
    return {"type": "http", "client": (address, 5000)}


def _chunks(*chunks: bytes) -> Any:
    messages = [{"type": "http.request", "body": c, "more_body": True} for c in chunks]
    messages[-1]["more_body"] = False

    async def receive() -> dict[str, Any]:
        return messages.pop(0)

    return receive


async def _never() -> dict[str, Any]:
    await asyncio.sleep(3600)
    raise AssertionError("unreachable")


def test_a_body_in_chunks_is_joined() -> None:
    body, complete = asyncio.run(_reader().read(_scope(), _chunks(b"ab", b"cd")))
    assert (body, complete) == (b"abcd", True)


def test_too_large_and_too_slow() -> None:
    with pytest.raises(PayloadTooLarge):
        asyncio.run(_reader().read(_scope(), _chunks(b"a" * 60, b"a" * 60)))
    with pytest.raises(RequestTimeout, match="body_timeout_s"):
        asyncio.run(_reader().read(_scope(), _never))


def test_one_address_holds_a_bounded_number_of_bodies() -> None:
    async def scenario() -> list[str]:
        reader = _reader(timeout_s=5)
        held = [asyncio.create_task(reader.read(_scope(), _never)) for _ in range(2)]
        await asyncio.sleep(0)
        outcomes = []
        try:
            await reader.read(_scope(), _chunks(b"x"))
        except Overloaded as error:
            outcomes.append(error.message)
        other = await reader.read(_scope("10.0.0.2"), _chunks(b"y"))
        outcomes.append(other[0].decode())
        for task in held:
            task.cancel()
        await asyncio.gather(*held, return_exceptions=True)
        outcomes.append(str(dict(reader.receiving)))
        return outcomes

    refused, other, left = asyncio.run(scenario())
    assert "max_bodies_per_client 2" in refused
    assert other == "y"
    assert left == "{}"  # cancelled readers give their slot back


def _post(port: int, *parts: bytes) -> bytes:
    """A request written in ``parts`` (a pause between them); the answer's body."""
    import socket
    import time

    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        for i, part in enumerate(parts):
            if i:
                time.sleep(0.3)
            sock.sendall(part)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    return answer.partition(b"\r\n\r\n")[2]


@pytest.mark.parametrize("protocol", ["httptools", "h11"])
def test_a_body_that_came_with_its_headers_skips_the_bookkeeping(protocol: str) -> None:
    """With uvicorn's own receive, a body sent with its headers is read at once (no
    deadline, no count); a body still arriving takes the bounded path."""
    import threading

    import uvicorn

    from service.bodies import arrived_whole
    from tests.fixtures.server import free_socket, wait_ready

    seen: list[bool] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        if scope["method"] == "POST":
            seen.append(arrived_whole(receive))
            body, complete = await _reader(max_bytes=1000, timeout_s=5).read(scope, receive)
        else:
            body, complete = b"", True
        answer = body if complete else b"?"
        length = [(b"content-length", str(len(answer)).encode())]
        await send({"type": "http.response.start", "status": 200, "headers": length})
        await send({"type": "http.response.body", "body": answer})

    sock = free_socket()
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, http=protocol, lifespan="off", log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    head = b"POST / HTTP/1.1\r\nhost: t\r\nconnection: close\r\ncontent-length: 4\r\n\r\n"
    try:
        wait_ready(f"http://127.0.0.1:{port}", alive=thread.is_alive, timeout_s=30, path="/")
        answers = [_post(port, head + b"abcd"), _post(port, head + b"ab", b"cd")]
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
    assert answers == [b"abcd", b"abcd"]
    assert seen == [True, False]
