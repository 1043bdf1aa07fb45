"""Overload is shed, not queued: past ``max_in_flight`` requests get 503 + Retry-After at
once, before their body is read, while probes and /metrics are still answered."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from contextlib import ExitStack, closing, contextmanager
from urllib.parse import urlsplit

from tests.fixtures.models import ModelRepository
from tests.fixtures.server import run_server
from tests.service.helpers import assert_error

PREDICT = "/v1/models/xor:predict"


@contextmanager
def held_request(url: str) -> Iterator[socket.socket]:
    """A request whose headers arrived and whose body never finishes: in flight until closed."""
    parts = urlsplit(url)
    sock = socket.create_connection((parts.hostname, parts.port))
    with closing(sock):
        sock.sendall(
            f"POST {PREDICT} HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n"
            "Content-Length: 1000\r\n\r\n{".encode()
        )
        yield sock


def test_requests_past_max_in_flight_are_refused_at_once(model_repository: ModelRepository) -> None:
    settings = model_repository.settings(max_in_flight=2, reload_interval_s=0)
    with run_server(settings) as server, server.client() as http, ExitStack() as held:
        for _ in range(2):
            held.enter_context(held_request(server.url))
        time.sleep(0.3)  # both held requests reached the app
        started = time.perf_counter()
        refused = http.post(PREDICT, json={"instances": [[0, 1]]})
        seconds = time.perf_counter() - started
        body = assert_error(refused, 503, "overloaded", "max_in_flight")
        assert body["code"] == "overloaded"
        assert refused.headers["retry-after"] == "1"
        assert seconds < 1.0
        assert http.get("/v2/health/ready").status_code == 200
        assert 'layerlens_requests_shed_total{reason="in_flight"} 1.0' in http.get("/metrics").text
        held.close()  # the held clients leave: their slots free up
        time.sleep(0.3)
        assert http.post(PREDICT, json={"instances": [[0, 1]]}).status_code == 200
