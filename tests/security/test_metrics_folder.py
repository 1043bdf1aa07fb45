"""A real two-worker ``python -m service`` whose metrics folder is on a full file system.

Before service.metric_files reserved the files' space, each worker died of SIGBUS while it
built its counters, and so did each replacement: the crash loop of issue 31 (1,117 deaths
in 30 minutes, no traceback). Now the workers serve, stay the same processes, and each
says once why its metrics are not shared.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from pathlib import Path

import httpx

from benchmarks.attacks import service_spec, worker_pids
from benchmarks.servers import free_port, start
from tests.fixtures.models import ModelRepository

REFUSED = "the metrics folder refused a value"
REQUESTS = 30


def test_a_full_metrics_folder_degrades_the_metrics_not_the_workers(
    model_repository: ModelRepository, small_tmpfs: Callable[[int, int], Path]
) -> None:
    full = small_tmpfs(64, 0)  # the supervisor makes its metrics folder in TMPDIR
    spec = service_spec(
        model_repository.models_dir, model_repository.database_url, free_port(), workers=2
    )
    env = {**spec.env, "TMPDIR": str(full), "LAYERLENS_LOG_FORMAT": "json"}
    server = start(dataclasses.replace(spec, env=env))
    try:
        pids = worker_pids(server)
        assert len(pids) == 2, server.log_tail()
        statuses = []
        for _ in range(REQUESTS):  # a new connection each: both workers answer some
            with httpx.Client(base_url=server.base_url, timeout=60.0) as client:
                answer = client.post("/v1/models/digits:predict", json={"instances": [[0] * 784]})
                statuses.append(answer.status_code)
        scrape = httpx.get(f"{server.base_url}/metrics", timeout=60.0)
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
    assert sorted(entry["pid"] for entry in refused) == pids, server.log_tail()
    assert all("No space left on device" in entry["message"] for entry in refused)
    assert all("posix_fallocate" in entry["traceback"] for entry in refused)


def _json_lines(log: Path) -> list[str]:
    return [line for line in log.read_text().splitlines() if line.startswith("{")]
