"""A refusal for load reaches a CLI user as one line that says when to come back.

The server here answers every request as an overloaded layerlens (or its edge) does: 503,
``{"error": ..., "code": "overloaded"}`` and Retry-After; a plain stdlib HTTP server on
loopback, because a real service refuses only under load, which a test cannot make exact.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler

import pytest
from typer.testing import CliRunner

from clients.cli import app
from tests.fixtures.stub_http import serve_stub


def _refusing(body: bytes, content_type: str, retry_after: str | None) -> type:
    class Refusing(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(503)
            self.send_header("Content-Type", content_type)
            if retry_after is not None:
                self.send_header("Retry-After", retry_after)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    return Refusing


@pytest.fixture
def refusing_server(request: pytest.FixtureRequest) -> Iterator[str]:
    with serve_stub(_refusing(*request.param)) as url:
        yield url


OVERLOADED = json.dumps({"error": "the server is overloaded: ...", "code": "overloaded"}).encode()


@pytest.mark.parametrize(
    ("refusing_server", "expected"),
    [
        ((OVERLOADED, "application/json", "7"), "the service is overloaded, retry in 7 s"),
        ((OVERLOADED, "application/json", None), "the service is overloaded, retry in 1 s"),
        ((b"<html>busy</html>", "text/html", "2"), "the service is overloaded, retry in 2 s"),
    ],
    indirect=["refusing_server"],
)
def test_an_overloaded_service_is_one_line_with_the_wait(
    refusing_server: str, expected: str
) -> None:
    result = CliRunner().invoke(app, ["--url", refusing_server, "--retries", "0", "models"])
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert lines == [f"error: {expected}"], result.stderr


@pytest.mark.parametrize(
    "refusing_server",
    [
        (
            json.dumps({"error": "no model is loaded yet", "code": "not_ready"}).encode(),
            "application/json",
            "5",
        )
    ],
    indirect=True,
)
def test_a_503_that_is_not_about_load_keeps_the_services_words(refusing_server: str) -> None:
    result = CliRunner().invoke(app, ["--url", refusing_server, "--retries", "0", "models"])
    assert result.exit_code == 1
    assert "overloaded" not in result.stderr
    assert "503 (not_ready): no model is loaded yet" in result.stderr
