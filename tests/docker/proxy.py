"""HAProxy (from Debian) as the Service in front of the API replicas: its image, and its
admin socket, over which the test plays the endpoints controller.

A replica joins as an endpoint that is not ready: it is added in drain (weight 0, checks
running) and put in rotation only once the proxy's own readiness check has passed, as a
Service routes to a pod only once its readiness probe has. (Leaving maintenance straight
to "ready" would send it traffic before its first check: HAProxy assumes a server up until
a check says otherwise.) A replica leaving is put in maintenance first: no new request goes
to it, the ones under way finish.
"""

from __future__ import annotations

import csv
import io
import socket
import time
from dataclasses import dataclass
from pathlib import Path

#: The test's haproxy.cfg, the build context of its image.
HAPROXY_DIR = Path(__file__).resolve().parent / "haproxy"
#: The image is the edge's (Debian's HAProxy, deploy/edge/Dockerfile) around that config: the
#: same package, user and entrypoint as the one deployed.
EDGE_DOCKERFILE = Path(__file__).resolve().parents[2] / "deploy" / "edge" / "Dockerfile"
FRONTEND_PORT = 8080
ADMIN_PORT = 9999
BACKEND = "replicas"
ADMIN_TIMEOUT_S = 5.0
POLL_S = 0.1


@dataclass(frozen=True)
class Readiness:
    """The readiness probe, as the Deployment declares it."""

    period_s: float
    failure_threshold: int


@dataclass
class Proxy:
    """One running HAProxy: ``url`` serves the API, ``admin`` is its runtime API."""

    url: str
    admin: tuple[str, int]
    readiness: Readiness

    def command(self, line: str) -> str:
        """One admin command; the socket closes after its answer."""
        with socket.create_connection(self.admin, timeout=ADMIN_TIMEOUT_S) as sock:
            sock.sendall(line.encode() + b"\n")
            chunks = []
            while chunk := sock.recv(65536):
                chunks.append(chunk)
        return b"".join(chunks).decode().strip()

    def add(self, name: str, address: str, port: int) -> None:
        """A new endpoint, not ready yet: checked, but sent nothing (see the module doc).
        ``observe layer4``: a connection the replica refuses or breaks marks it down at
        once, as a pod whose container died leaves the endpoints without waiting for a
        failed probe."""
        period_ms = int(self.readiness.period_s * 1000)
        answer = self.command(
            f"add server {BACKEND}/{name} {address}:{port} check inter {period_ms} "
            f"fall {self.readiness.failure_threshold} rise 1 "
            "observe layer4 error-limit 1 on-error mark-down"
        )
        assert "New server registered" in answer, answer
        for line in (f"enable health {BACKEND}/{name}", f"set server {BACKEND}/{name} state drain"):
            answer = self.command(line)
            assert answer == "", f"{line}: {answer}"

    def wait_ready(self, name: str, *, timeout: float) -> float:
        """Seconds until the proxy's own readiness check passed; then in rotation."""
        started = time.perf_counter()
        while time.perf_counter() - started < timeout:
            server = self.servers()[name]
            if server["check_status"] == "L7OK":
                assert self.command(f"set server {BACKEND}/{name} state ready") == ""
                return time.perf_counter() - started
            time.sleep(POLL_S)
        raise AssertionError(f"{name} never passed the proxy's readiness check: {server}")

    def remove(self, name: str) -> None:
        """Out of rotation (the endpoint is gone); requests under way carry on."""
        assert self.command(f"set server {BACKEND}/{name} state maint") == ""

    def delete(self, name: str) -> None:
        answer = self.command(f"del server {BACKEND}/{name}")
        assert "Server deleted" in answer, answer

    def servers(self) -> dict[str, dict[str, str]]:
        """The backend's servers from ``show stat``: status, check_status, stot (requests
        sent to it), scur (under way), hrsp_5xx, ..."""
        text = self.command("show stat").lstrip("# ")
        rows = csv.DictReader(io.StringIO(text))
        return {
            row["svname"]: row
            for row in rows
            if row["pxname"] == BACKEND and row["svname"] not in ("BACKEND", "FRONTEND")
        }

    def in_rotation(self) -> list[str]:
        """Servers that get new requests: up, ready, not draining."""
        return [name for name, row in self.servers().items() if row["status"] == "UP"]
