"""A real two-worker ``python -m service`` whose metrics folder fills up while it serves.

The crash loop of issue 31 (1,117 worker deaths in 30 minutes, no traceback): once the
temporary folder was full, a worker that died for any reason was replaced by one that
died of SIGBUS while it built its counters, and so was each replacement. (A folder full
already at start-up is skipped by Python's ``tempfile``, which tests that it can write
there, so the folder fills up here after the start, as it did there.) Now the replacement
serves, stays the same process, and says once why its metrics are not shared.
"""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import time
from collections.abc import Callable
from pathlib import Path

import httpx

from benchmarks.attacks import service_spec, worker_pids
from benchmarks.servers import RunningServer, free_port, start
from tests.fixtures.models import ModelRepository
from tests.fixtures.tmpfs import fill_up
from tests.service.helpers import copy_versions

REFUSED = "the metrics folder refused a value"
REQUESTS = 30


def test_a_worker_replaced_on_a_full_metrics_folder_serves_and_says_why(
    model_repository: ModelRepository,
    small_tmpfs: Callable[[int, int], Path],
    tmp_path: Path,
) -> None:
    folder = small_tmpfs(2048, 2048)  # the supervisor makes its metrics folder in TMPDIR
    models_dir = copy_versions(model_repository.models_dir, tmp_path / "models", {"digits": [2]})
    spec = service_spec(models_dir, model_repository.database_url, free_port(), workers=2)
    log = {"LAYERLENS_LOG_FORMAT": "json", "LAYERLENS_LOG_LEVEL": "info"}  # "ready:" lines
    env = {**spec.env, "TMPDIR": str(folder), **log}
    server = start(dataclasses.replace(spec, env=env))
    try:
        first = worker_pids(server)
        assert len(first) == 2, server.log_tail()
        assert any(folder.glob("layerlens-metrics-*/*.db")), "the metrics are not on the tmpfs"
        fill_up(folder)
        os.kill(first[0], signal.SIGKILL)  # its replacement starts on a full folder
        pids = _replaced(server, first)
        statuses = []
        for _ in range(REQUESTS):  # a new connection each: both workers answer some
            with httpx.Client(base_url=server.base_url, timeout=60.0) as client:
                answer = client.post("/v1/models/digits:predict", json={"instances": [[0] * 784]})
                statuses.append(answer.status_code)
        scrape = httpx.get(f"{server.base_url}/metrics", timeout=60.0)
        time.sleep(1.0)
        assert worker_pids(server) == pids, server.log_tail()
    finally:
        server.stop()
    assert statuses == [200] * REQUESTS
    assert scrape.status_code == 200
    assert "layerlens_metrics_unshared_values" in scrape.text
    refused = [
        entry
        for entry in map(json.loads, _json_lines(server.log_path))
        if entry["message"].startswith(REFUSED)
    ]
    (new,) = set(pids) - set(first)
    assert [entry["pid"] for entry in refused] == [new], server.log_tail()
    assert "No space left on device" in refused[0]["message"]
    assert "posix_fallocate" in refused[0]["traceback"]


def _replaced(server: RunningServer, before: list[int]) -> list[int]:
    """The worker pids once the killed worker's replacement is up and the service ready."""
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        pids = worker_pids(server)
        if len(pids) == 2 and pids != before:
            try:
                ready = httpx.get(f"{server.base_url}/v2/health/ready", timeout=5).status_code
            except httpx.HTTPError:
                ready = 0
            if ready == 200 and _loaded(server, set(pids) - set(before)):
                return pids
        time.sleep(0.5)
    raise AssertionError(f"no replacement worker came up:\n{server.log_tail()}")


def _loaded(server: RunningServer, pids: set[int]) -> bool:
    """Whether each of ``pids`` has logged its start-up's end (the models loaded)."""
    started = {
        entry["pid"]
        for entry in map(json.loads, _json_lines(server.log_path))
        if entry["message"].startswith("ready:")
    }
    return pids <= started


def _json_lines(log: Path) -> list[str]:
    return [line for line in log.read_text().splitlines() if line.startswith("{")]
