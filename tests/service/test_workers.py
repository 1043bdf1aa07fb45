"""Several workers behind one port: one scrape of /metrics counts the requests of them all."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

from tests.fixtures.server import wait_ready
from tests.service.helpers import copy_versions, start_service

ROUTE = "/v1/models/{model}:predict"
HELD_REQUESTS = 6


def _answered_by(log: Path) -> list[int]:
    """The pid of the worker behind each access-log line of the predict route."""
    pids = []
    for line in log.read_text().splitlines():
        if line.startswith("{") and f'"route":"{ROUTE}"' in line:
            pids.append(json.loads(line)["pid"])
    return pids


def _sample(text: str, name: str, **labels: str) -> float:
    """The value of one series in Prometheus text (every label given must match)."""
    for line in text.splitlines():
        if line.startswith(name) and all(f'{k}="{v}"' in line for k, v in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"no {name} {labels} in the scrape")


@contextlib.contextmanager
def _two_workers(
    model_repository: Any, tmp_path: Path
) -> Iterator[tuple[subprocess.Popen[bytes], str, Path]]:
    """The service with 2 workers over ``xor`` (process, base URL, JSON log), ready."""
    models_dir = copy_versions(model_repository.models_dir, tmp_path / "models", {"xor": [1]})
    log = tmp_path / "service.log"
    with log.open("wb") as output:
        env = {"LAYERLENS_WORKERS": "2", "LAYERLENS_LOG_FORMAT": "json"}
        process, port = start_service(model_repository, models_dir, env, output=output.fileno())
    url = f"http://127.0.0.1:{port}"
    try:
        wait_ready(url, alive=lambda: process.poll() is None)
        yield process, url, log
    finally:
        if process.poll() is None:  # a failed test: its workers too, or they outlive it
            for worker in _workers(process.pid):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(worker, signal.SIGKILL)
            process.kill()


def test_one_scrape_adds_up_every_worker(model_repository: Any, tmp_path: Path) -> None:
    with _two_workers(model_repository, tmp_path) as (process, url, log):
        sent = 0
        deadline = time.monotonic() + 120
        # A new connection each time, so the kernel hands requests to whichever worker
        # accepts first; go on until both have answered some (the second may still start).
        while sent < 40 or len(set(_answered_by(log))) < 2:
            assert time.monotonic() < deadline, f"one worker answered all: {_answered_by(log)}"
            answer = httpx.post(f"{url}/v1/models/xor:predict", json={"instances": [[0, 1]]})
            assert answer.status_code == 200, answer.text
            sent += 1
        time.sleep(0.2)  # the access line and the counter follow the answer
        pids = _answered_by(log)
        assert len(pids) == sent and len(set(pids)) == 2
        text = httpx.get(f"{url}/metrics").text
        counted = _sample(text, "layerlens_requests_total", route=ROUTE, model="xor", status="200")
        assert counted == sent, f"{counted} counted of {sent}, by worker: {pids}"
        # Each worker loads the same repository: the gauge is not their sum.
        assert _sample(text, "layerlens_models_loaded") == 1
        _in_flight_adds_up(url, held=HELD_REQUESTS)
        metrics_dir = _metrics_dir(pids[0])
        assert (metrics_dir / f"gauge_livemax_{pids[0]}.db").is_file()

        # A worker killed outright: its gauges leave the scrape, its counts stay.
        os.kill(pids[0], signal.SIGKILL)
        deadline = time.monotonic() + 30
        while (metrics_dir / f"gauge_livemax_{pids[0]}.db").exists():
            assert time.monotonic() < deadline, "the dead worker's gauges are still there"
            time.sleep(0.2)
        assert (metrics_dir / f"counter_{pids[0]}.db").is_file()
        after = httpx.get(f"{url}/metrics", timeout=30).text
        assert _sample(after, "layerlens_requests_total", route=ROUTE, status="200") == sent
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=60)
    assert not metrics_dir.exists(), "the supervisor leaves its metrics folder behind"


def _metrics_dir(worker: int) -> Path:
    """The folder the supervisor gave the workers, from a worker's environment."""
    environ = Path(f"/proc/{worker}/environ").read_bytes().split(b"\0")
    value = next(v for v in environ if v.startswith(b"PROMETHEUS_MULTIPROC_DIR="))
    return Path(value.partition(b"=")[2].decode())


def _wait_for_sample(url: str, name: str, expected: float) -> None:
    deadline = time.monotonic() + 30
    while (seen := _sample(httpx.get(f"{url}/metrics").text, name)) != expected:
        assert time.monotonic() < deadline, f"{name} stays at {seen}, expected {expected}"
        time.sleep(0.1)


def _in_flight_adds_up(url: str, *, held: int) -> None:
    """Requests whose bodies never finish arriving are in flight in whichever worker took
    them: the autoscaler's gauge must show them all from one scrape, then none."""
    host, port = url.removeprefix("http://").split(":")
    head = (
        b"POST /v1/models/xor:predict HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        b"Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{"
    )
    sockets = [socket.create_connection((host, int(port))) for _ in range(held)]
    try:
        for sock in sockets:
            sock.sendall(head)
        _wait_for_sample(url, "layerlens_requests_in_flight", held)
    finally:
        for sock in sockets:
            sock.close()
    _wait_for_sample(url, "layerlens_requests_in_flight", 0)


def _workers(supervisor: int) -> list[int]:
    """The supervisor's worker processes (its spawned children, not the resource tracker)."""
    children = Path(f"/proc/{supervisor}/task/{supervisor}/children").read_text().split()
    return [
        int(pid) for pid in children if b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes()
    ]


def test_a_worker_killed_while_the_supervisor_waits_on_its_ping_is_replaced_at_once(
    model_repository: Any, tmp_path: Path
) -> None:
    """A stopped worker cannot answer the supervisor's health ping, so the supervisor is
    waiting on it (up to its 30 s) when the worker is killed: the death must end that
    wait at once (end-of-file on the health pipe), not 30 s later."""
    with _two_workers(model_repository, tmp_path) as (process, url, _log):
        deadline = time.monotonic() + 60
        while len(workers := _workers(process.pid)) < 2:
            assert time.monotonic() < deadline, f"workers: {workers}"
            time.sleep(0.2)
        victim = workers[0]
        metrics_dir = _metrics_dir(victim)
        os.kill(victim, signal.SIGSTOP)
        time.sleep(2.0)  # the supervisor's next round pings the stopped worker and waits
        os.kill(victim, signal.SIGKILL)
        killed = time.monotonic()
        while victim in _workers(process.pid) or len(_workers(process.pid)) < 2:
            assert time.monotonic() - killed < 10, "the killed worker was not replaced"
            time.sleep(0.1)
        assert not list(metrics_dir.glob(f"gauge_livemax_{victim}.db"))
        wait_ready(url, alive=lambda: process.poll() is None)
        answer = httpx.post(f"{url}/v1/models/xor:predict", json={"instances": [[0, 1]]})
        assert answer.status_code == 200, answer.text
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=60)
