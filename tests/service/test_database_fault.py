"""The metrics database goes away: inference keeps answering, the metrics routes answer 503
``metrics_unavailable`` at once, and recover by themselves when the database is back.

The test owns its PostgreSQL cluster (``own_postgres_server``) so stopping it disturbs no
other test.
"""

from __future__ import annotations

import asyncio
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from core.db import EvaluationItem, make_engine, save_evaluations, save_model_version, upgrade
from core.db.engine import PG_CONNECT_TIMEOUT_S
from core.manifest import Manifest, version_dir
from service.dataplane.evaluations import EvaluationReader
from service.errors import MetricsUnavailable
from tests.fixtures.postgres import own_postgres_server
from tests.fixtures.server import free_socket, run_server
from tests.service.helpers import assert_error, copy_versions

XOR = {"instances": [[0, 1]]}
METRICS = "/v1/models/xor/versions/1/metrics"
#: The brief: a clear error within a second, not after a connect timeout.
FAIL_FAST_S = 1.0
#: How long the test waits for the routes to recover once the server is back.
RECOVER_WITHIN_S = 10.0
#: Metrics reads sent at once to a hung database (more than the service's model threads).
METRICS_CALLERS = 8
#: The slowest prediction allowed meanwhile (a tiny model answers in milliseconds).
INFERENCE_UNDISTURBED_S = 0.5


def _seed(url: str, models_dir: Path) -> None:
    """Schema plus one stored evaluation of xor v1, so the metrics route has rows to read."""
    upgrade(url)
    engine = make_engine(url)
    try:
        save_model_version(engine, Manifest.read(version_dir(models_dir, "xor", 1)))
        save_evaluations(engine, "xor", 1, [EvaluationItem("test", "xor-test", {"accuracy": 1})])
    finally:
        engine.dispose()


def _timed(http: httpx.Client, path: str) -> tuple[httpx.Response, float]:
    started = time.perf_counter()
    response = http.get(path)
    return response, time.perf_counter() - started


@pytest.mark.postgres
def test_database_down_fails_the_metrics_routes_fast_and_they_recover(
    model_repository: Any, tmp_path: Path
) -> None:
    models_dir = copy_versions(model_repository.models_dir, tmp_path, {"xor": [1]})
    with own_postgres_server() as database:
        _seed(database.url(), models_dir)
        settings = model_repository.settings(models_dir=models_dir, database_url=database.url())
        with run_server(settings) as server, server.client() as http:
            response = http.get(METRICS)
            assert response.status_code == 200, response.text
            assert response.json()["evaluations"][0]["data"] == {"accuracy": 1}

            database.stop()
            timings = []
            for _ in range(5):
                response, seconds = _timed(http, METRICS)
                assert_error(response, 503, "metrics database")
                assert response.json()["code"] == "metrics_unavailable"
                timings.append(seconds)
                # Inference never touches the database.
                assert http.post("/v1/models/xor:predict", json=XOR).status_code == 200
            print(f"503 metrics_unavailable in {max(timings) * 1000:.0f} ms at most")
            assert max(timings) < FAIL_FAST_S, timings
            assert http.get("/v2/health/ready").status_code == 200  # the metrics are optional

            database.start()
            started = time.monotonic()
            while (status := http.get(METRICS).status_code) != 200:
                assert status == 503
                assert time.monotonic() - started < RECOVER_WITHIN_S, "no recovery"
                time.sleep(0.1)
            print(f"metrics answered 200 again {time.monotonic() - started:.2f} s after restart")
            assert http.get(METRICS).json()["evaluations"][0]["data"] == {"accuracy": 1}


def test_a_hung_database_holds_neither_the_metrics_routes_nor_inference(
    model_repository: Any, tmp_path: Path
) -> None:
    """A hung server (the handshake completes, nothing ever answers): without a connect
    timeout a read would wait for the operating system's TCP timeout (minutes), and reads
    waiting on it would hold the threads that run the models."""
    models_dir = copy_versions(model_repository.models_dir, tmp_path, {"xor": [1]})
    with free_socket() as silent:
        silent.listen(64)  # the kernel completes handshakes; nobody reads or answers
        port = silent.getsockname()[1]
        url = f"postgresql+psycopg://layerlens@127.0.0.1:{port}/layerlens"
        settings = model_repository.settings(models_dir=models_dir, database_url=url)
        with run_server(settings) as server, server.client() as http:
            assert http.post("/v1/models/xor:predict", json=XOR).status_code == 200  # warm
            with ThreadPoolExecutor(METRICS_CALLERS) as pool:
                reads = [pool.submit(_timed, server.client(), METRICS) for _ in range(8)]
                time.sleep(0.2)  # the reads are waiting on the database
                latencies = []
                while not all(read.done() for read in reads):
                    started = time.perf_counter()
                    assert http.post("/v1/models/xor:predict", json=XOR).status_code == 200
                    latencies.append(time.perf_counter() - started)
                answers = [read.result() for read in reads]
            for response, _ in answers:
                assert_error(response, 503, "metrics database")
            slowest = max(seconds for _, seconds in answers)
            print(
                f"8 reads of a hung database: 503 within {slowest:.2f} s; meanwhile "
                f"{len(latencies)} predictions, the slowest {max(latencies) * 1000:.0f} ms"
            )
            assert slowest < PG_CONNECT_TIMEOUT_S + 1.0
            assert max(latencies) < INFERENCE_UNDISTURBED_S


def test_after_a_failed_read_the_reader_answers_at_once_then_tries_again() -> None:
    """The circuit breaker alone, on a fake clock and a fake database."""
    now, calls, down = [0.0], [], [True]

    async def in_thread(_fn: Any, *args: Any) -> list[dict[str, Any]]:
        calls.append(args)
        await asyncio.sleep(0)
        if down[0]:
            raise MetricsUnavailable("the metrics database is not available")
        return [{"kind": "test"}]

    reader = EvaluationReader(make_engine("sqlite://"), fail_fast_s=1.0, clock=lambda: now[0])

    async def scenario() -> None:
        with pytest.raises(MetricsUnavailable):
            await reader.read(in_thread, "xor", 1, None)
        now[0] = 0.9
        down[0] = False
        with pytest.raises(MetricsUnavailable, match=r"failed 0\.9 s ago"):
            await reader.read(in_thread, "xor", 1, None)
        assert len(calls) == 1  # the database was not asked again
        now[0] = 1.0
        assert await reader.read(in_thread, "xor", 1, None) == [{"kind": "test"}]
        assert len(calls) == 2

    asyncio.run(scenario())
