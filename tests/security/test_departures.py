"""Clients that leave, and workers that cannot serve, against a real ``python -m service``.

One worker, so that readiness (per worker) and the metrics are that worker's, with
``unready_after_s`` at 1 s so the readiness cases take seconds. Before service.departures,
uvicorn let a request run to its end after its client had gone: the uploads below decoded
every image and answered 200 to nobody, holding both decoding threads all the while.
Before service.vitals, readiness said 200 while every request slot was held.
"""

from __future__ import annotations

import dataclasses
import io
import socket
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, closing

import httpx
import pytest
from PIL import Image

from benchmarks.attacks import service_spec
from benchmarks.servers import RunningServer, free_port, start
from tests.fixtures.models import ModelRepository

SLOTS = 6
PREDICT = "/v1/models/digits:predict"
EXPLAIN = "/v1/models/digits-cnn:explain"
#: Images per upload: decoding them all takes tens of seconds on the 2-core machine.
IMAGES = 300
BOUNDARY = "layerlens-departures"


@pytest.fixture(scope="module")
def server(model_repository: ModelRepository) -> Iterator[RunningServer]:
    spec = service_spec(
        model_repository.models_dir, model_repository.database_url, free_port(), workers=1
    )
    env = {
        **spec.env,
        "LAYERLENS_UNREADY_AFTER_S": "1",
        "LAYERLENS_MAX_IN_FLIGHT": str(SLOTS),
        "LAYERLENS_MAX_IN_FLIGHT_WAIT_MS": "0",
        "LAYERLENS_OVERLOAD_HOLD_MS": "0",
    }
    running = start(dataclasses.replace(spec, env=env))
    try:
        yield running
    finally:
        running.stop()


def _upload(port: int, images: int) -> bytes:
    """A multipart predict of ``images`` one-bit 2000x2000 PNGs (small bytes, slow pixels)."""
    out = io.BytesIO()
    Image.new("1", (2000, 2000), 1).save(out, "PNG")
    part = (
        (
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="files"; filename="a.png"\r\n'
            "Content-Type: image/png\r\n\r\n"
        ).encode()
        + out.getvalue()
        + b"\r\n"
    )
    body = part * images + f"--{BOUNDARY}--\r\n".encode()
    head = (
        f"POST {PREDICT} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        f"Content-Type: multipart/form-data; boundary={BOUNDARY}\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


def _json_request(port: int, path: str, body: bytes) -> bytes:
    head = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


def _sent(port: int, request: bytes) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port))
    sock.sendall(request)
    return sock


def _requests(server: RunningServer, route: str, status: int) -> float:
    """``layerlens_requests_total`` of one route template and status."""
    text = httpx.get(f"{server.base_url}/metrics", timeout=30).text
    wanted = (f'route="{route}"', f'status="{status}"')
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith("layerlens_requests_total{") and all(w in line for w in wanted)
    )


def _until(what: str, check: Callable[[], object], timeout_s: float = 90.0) -> object:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if result := check():
            return result
        time.sleep(0.2)
    raise AssertionError(f"not seen within {timeout_s:.0f} s: {what}")


def _readiness(server: RunningServer) -> httpx.Response:
    return httpx.get(f"{server.base_url}/v2/health/ready", timeout=30)


def test_uploads_whose_clients_left_stop_decoding(server: RunningServer) -> None:
    route = "/v1/models/{model}:predict"
    before = _requests(server, route, 499)
    with ExitStack() as clients:
        for _ in range(2):  # one per decoding thread
            clients.enter_context(closing(_sent(server.port, _upload(server.port, IMAGES))))
        unready = _until(
            "readiness 503 while both decoding threads are busy",
            lambda: (answer := _readiness(server)).status_code == 503 and answer,
        )
        assert "decoding pool" in unready.json()["error"]  # type: ignore[union-attr]
        normal = httpx.post(
            f"{server.base_url}{PREDICT}", json={"instances": [[0] * 784]}, timeout=30
        )
        assert normal.status_code == 200  # JSON decodes on the loop, models have threads
    # both clients have gone: their uploads stop at the next image, not after the last
    _until("both uploads ended 499", lambda: _requests(server, route, 499) == before + 2)
    _until("ready again", lambda: _readiness(server).status_code == 200, timeout_s=30)
    assert _requests(server, route, 200) >= 1  # the normal prediction, not the uploads


def test_an_explanation_whose_client_left_stops(server: RunningServer) -> None:
    route = "/v1/models/{model}:explain"
    before = _requests(server, route, 499)
    body = b'{"instances": [' + b",".join([b"[" + b",".join([b"0.5"] * 784) + b"]"] * 4) + b"]}"
    path = f"{EXPLAIN}?method=integrated-gradients&steps=1000"
    with closing(_sent(server.port, _json_request(server.port, path, body))):
        time.sleep(0.5)  # the explanation has started; its client leaves
    _until("the explanation ended 499", lambda: _requests(server, route, 499) == before + 1)
    assert _requests(server, route, 200) == 0


def test_readiness_says_so_while_every_request_slot_is_held(server: RunningServer) -> None:
    held = b'{"instances": ['  # a body that never finishes
    head = (
        f"POST {PREDICT} HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n"
        "Content-Type: application/json\r\nContent-Length: 100000\r\n\r\n"
    ).encode()
    with ExitStack() as clients:
        for _ in range(SLOTS):
            clients.enter_context(closing(_sent(server.port, head + held)))
        unready = _until(
            "readiness 503 while every slot is held",
            lambda: (answer := _readiness(server)).status_code == 503 and answer,
        )
        assert "request slots (max_in_flight)" in unready.json()["error"]  # type: ignore[union-attr]
    _until("ready again", lambda: _readiness(server).status_code == 200, timeout_s=30)
    answer = httpx.post(f"{server.base_url}{PREDICT}", json={"instances": [[0] * 784]})
    assert answer.status_code == 200
