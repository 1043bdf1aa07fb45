"""The SDK's retries against a real HTTP server on loopback: real sockets, real resets.

The server answers each request with the next step of a script (a status with headers, a
connection reset, a prediction), so the failures a load balancer shows a client when a
replica dies (502, 503 with Retry-After, 504, RST) come over the wire as they would, and
``Client.retry_stats`` must count every retry the SDK made.
"""

from __future__ import annotations

import json
import socket
import struct
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler

import pytest

from clients import Client, RetryStats, ServiceUnavailableError
from tests.fixtures.stub_http import serve_stub

PREDICTION = {
    "model": "xor",
    "version": 1,
    "predictions": [
        {
            "class_id": 1,
            "label": "1",
            "probability": 0.8,
            "probabilities": [0.2, 0.8],
            "top_k": [{"class_id": 1, "label": "1", "probability": 0.8}],
        }
    ],
}
METADATA = {"name": "xor", "input": {"shape": [2]}}
RESET = "reset"  # a script step: close the connection with an RST, no answer


@dataclass
class Step:
    status: int
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class ScriptedServer:
    """Answers POST n with ``steps[n]`` (then 200 with a prediction forever)."""

    steps: list[Step | str] = field(default_factory=list)
    seen: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def next_step(self) -> Step | str:
        with self.lock:
            self.seen += 1
            return self.steps.pop(0) if self.steps else Step(200)


def _handler(script: ScriptedServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            """The model's metadata (the SDK reads the input shape once, then caches it)."""
            body = json.dumps(METADATA).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            step = script.next_step()
            if step == RESET:
                # Linger 0: close() sends an RST, as a killed process's socket does.
                self.connection.setsockopt(
                    socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
                )
                self.connection.close()
                self.close_connection = True
                return
            assert isinstance(step, Step)
            body = json.dumps(PREDICTION if step.status == 200 else {"error": "not now"})
            self.send_response(step.status)
            for name, value in {"Content-Type": "application/json", **step.headers}.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body.encode())

        def log_message(self, *args: object) -> None:
            pass

    return Handler


@pytest.fixture
def server() -> Iterator[tuple[ScriptedServer, str]]:
    script = ScriptedServer()
    with serve_stub(_handler(script)) as url:
        yield script, url


def test_a_lost_replica_s_answers_are_retried_and_counted(server) -> None:
    script, url = server
    script.steps = [Step(502), RESET, Step(504), Step(503, {"Retry-After": "0"})]
    with Client(url, retries=4, backoff_s=0.0) as client:
        result = client.predict("xor", [[0.0, 1.0]])
        assert result[0].class_id == 1
        # The metadata GET (cached from then on) and the POST, which took 4 retries.
        causes = {"502": 1, "ReadError": 1, "504": 1, "503": 1}  # an RST is a ReadError
        assert client.retry_stats == RetryStats(2, 4, 0, causes)
        client.predict("xor", [[0.0, 1.0]])  # a healthy call adds a request, no retry
        assert client.retry_stats == RetryStats(3, 4, 0, causes)
    assert script.seen == 6


def test_retry_after_is_waited_for(server) -> None:
    script, url = server
    script.steps = [Step(503, {"Retry-After": "0.4"})]
    with Client(url, retries=1, backoff_s=0.0) as client:
        started = time.perf_counter()
        client.predict("xor", [[1.0, 1.0]])
        assert time.perf_counter() - started >= 0.4
        assert client.retry_stats.retries == 1


def test_an_exhausted_budget_is_counted_and_the_failure_raised(server) -> None:
    """Always 503: the reserve (10 retries) plus a tenth of the calls goes, then every
    further retry is refused and counted as refused."""
    script, url = server
    script.steps = [Step(503)] * 200
    with Client(url, retries=3, backoff_s=0.0) as client:
        for _ in range(20):
            with pytest.raises(ServiceUnavailableError):
                client.predict("xor", [[0.0, 0.0]])
        stats = client.retry_stats
    assert stats.requests == 1 + 20  # the metadata GET, then the predictions
    assert 10 <= stats.retries <= 10 + 2
    # A refused retry ends its call (once); every other call made all 3 of its retries.
    assert stats.budget_denied >= 1
    assert 3 * (20 - stats.budget_denied) <= stats.retries
    assert stats.retries <= 3 * (20 - stats.budget_denied) + 2 * stats.budget_denied
    assert script.seen == 20 + stats.retries
