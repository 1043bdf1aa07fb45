"""SIGTERM on ``python -m service``: requests in flight finish, then the process exits."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import httpx
import numpy as np

from tests.fixtures.server import free_socket, wait_ready
from tests.service.conftest import copy_versions

REPO_ROOT = Path(__file__).resolve().parents[2]


def test_sigterm_lets_requests_in_flight_finish(model_repository: Any, tmp_path: Path) -> None:
    models_dir = copy_versions(model_repository.models_dir, tmp_path / "models", {"digits": [1]})
    sock = free_socket()
    port = sock.getsockname()[1]
    sock.close()
    env = {
        **os.environ,
        "LAYERLENS_MODELS_DIR": str(models_dir),
        "LAYERLENS_DATA_DIR": str(model_repository.data_dir),
        "LAYERLENS_DATABASE_URL": model_repository.database_url,
        "LAYERLENS_PORT": str(port),
        "LAYERLENS_LOG_FORMAT": "json",
        "LAYERLENS_GRACEFUL_TIMEOUT_S": "60",
        "LAYERLENS_BATCH_MAX_QUEUE": "100000",  # all four requests queue at once
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "service"],
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
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
