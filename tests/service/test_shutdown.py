"""SIGTERM on ``python -m service``: requests in flight finish, then the process exits."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest

from tests.fixtures.server import wait_ready
from tests.service.helpers import copy_versions, start_service


def test_sigterm_lets_requests_in_flight_finish(model_repository: Any, tmp_path: Path) -> None:
    models_dir = copy_versions(model_repository.models_dir, tmp_path / "models", {"digits": [1]})
    env = {
        "LAYERLENS_LOG_FORMAT": "json",
        "LAYERLENS_BATCH_MAX_QUEUE": "100000",  # all four requests queue at once
        "LAYERLENS_BATCH_QUEUE_DEADLINE_MS": "60000",  # and none is shed: this tests draining
    }
    process, port = start_service(model_repository, models_dir, env, output=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_ready(url, alive=lambda: process.poll() is None)
        batch = json.dumps({"instances": np.zeros((1500, 784), dtype=np.uint8).tolist()})
        headers = {"content-type": "application/json"}
        statuses: list[int] = []
        started = threading.Barrier(5)

        def call() -> None:
            with httpx.Client(base_url=url, timeout=120) as http:
                started.wait()
                statuses.append(
                    http.post(
                        "/v1/models/digits:predict", content=batch, headers=headers
                    ).status_code
                )

        threads = [threading.Thread(target=call) for _ in range(4)]
        for thread in threads:
            thread.start()
        started.wait()
        threading.Event().wait(0.3)  # the requests are being sent or run
        process.send_signal(signal.SIGTERM)
        for thread in threads:
            thread.join()
        output, _ = process.communicate(timeout=90)
    finally:
        if process.poll() is None:
            process.kill()
    assert statuses == [200] * 4
    # uvicorn re-raises the signal after a clean shutdown, so the exit status says SIGTERM.
    assert process.returncode in (0, -signal.SIGTERM), output.decode()[-2000:]
    log = output.decode()
    assert '"route":"/v1/models/{model}:predict"' in log  # one structured line per request
    assert "not ready any more" in log


@pytest.mark.slow  # two worker processes start TensorFlow: about a minute on 2 cores
def test_with_workers_new_connections_are_refused_while_draining(
    model_repository: Any, tmp_path: Path
) -> None:
    """The supervisor must not keep the socket open: late clients would wait, then be reset."""
    models_dir = copy_versions(model_repository.models_dir, tmp_path / "models", {"xor": [1]})
    process, port = start_service(
        model_repository, models_dir, {"LAYERLENS_WORKERS": "2"}, output=subprocess.DEVNULL
    )
    body = b'{"instances": [[0, 1]]}'
    try:
        wait_ready(f"http://127.0.0.1:{port}", alive=lambda: process.poll() is None)
        # A request in flight (headers sent, body not yet) keeps its worker draining.
        slow = socket.create_connection(("127.0.0.1", port), timeout=30)
        slow.sendall(
            b"POST /v1/models/xor:predict HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Content-Type: application/json\r\n"
            + f"Content-Length: {len(body)}\r\n\r\n".encode()
            + body[:5]
        )
        threading.Event().wait(0.5)
        process.send_signal(signal.SIGTERM)
        refused = False
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and process.poll() is None and not refused:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
            except ConnectionRefusedError:
                refused = True
            else:
                threading.Event().wait(0.1)
        assert refused and process.poll() is None, "still accepting connections while draining"
        slow.sendall(body[5:])  # the request in flight is still answered
        answer = slow.recv(65536)
        slow.close()
        assert answer.startswith(b"HTTP/1.1 200"), answer[:200]
        process.wait(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
