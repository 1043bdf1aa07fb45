"""A worker killed with SIGKILL under load: replaced, serving again within 15 s, and no
request held by another worker fails.

uvicorn's supervisor (0.54 here; ``Multiprocess.keep_subprocess_alive``) checks its workers
every half second and starts a new one in place of one that died, on the same listening
socket; ``service.__main__.Supervisor`` inherits that unchanged. Which worker holds which
client connection is read from /proc (the connection's client port in the worker's socket
table), so a failed request is pinned on the worker that held it.
"""

from __future__ import annotations

import http.client
import os
import signal
import subprocess
import threading
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.fixtures.server import wait_ready
from tests.service.helpers import copy_versions, start_service

pytestmark = pytest.mark.skipif(
    not Path("/proc/net/tcp").exists(), reason="reads sockets from Linux's /proc"
)

BODY = b'{"instances": [[0, 1]]}'
HEADERS = {"content-type": "application/json"}
CLIENTS = 4
#: Each client opens a new connection after this many requests, so both workers get some.
REQUESTS_PER_CONNECTION = 20
#: Pause between one client's requests: load, but CPU left for the replacement to start.
PAUSE_S = 0.02
READY_WITHIN_S = 15.0
MEASURE_FOR_S = 60.0
_LISTEN, _ESTABLISHED = "0A", "01"
#: The service log's lines that time a worker's start (printed with the figures).
_LIFECYCLE_LINES = ("Started server process", "startup complete", "ready:", "died", "SIGKILL")


@dataclass(frozen=True)
class Outcome:
    client_port: int
    status: int | None  # None: no answer (connection reset or closed)
    at: float


def _tcp_table() -> list[tuple[int, int, str, int]]:
    """(local port, remote port, state, inode) of each IPv4 TCP socket."""
    rows = []
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local, remote = fields[1].split(":")[1], fields[2].split(":")[1]
        rows.append((int(local, 16), int(remote, 16), fields[3], int(fields[9])))
    return rows


def _socket_inodes(pid: int) -> set[int]:
    inodes = set()
    try:
        fds = list(Path(f"/proc/{pid}/fd").iterdir())
    except OSError:  # gone
        return inodes
    for fd in fds:
        try:
            target = str(fd.readlink())
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(int(target[len("socket:[") : -1]))
    return inodes


def _children(pid: int) -> list[int]:
    children = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            # The command name is in parentheses and may hold spaces: split after it.
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                children.append(int(entry.name))
    return children


def _workers(supervisor: int, port: int) -> set[int]:
    """The supervisor's children that hold the listening socket."""
    listening = {inode for lp, _, state, inode in _tcp_table() if lp == port and state == _LISTEN}
    return {pid for pid in _children(supervisor) if _socket_inodes(pid) & listening}


def _owners(pids: set[int], port: int) -> dict[int, int]:
    """Client port -> the worker that holds that client's connection."""
    table = [(rp, inode) for lp, rp, st, inode in _tcp_table() if lp == port and st == _ESTABLISHED]
    owners = {}
    for pid in pids:
        inodes = _socket_inodes(pid)
        owners.update({rp: pid for rp, inode in table if inode in inodes})
    return owners


def _client(port: int, stop: threading.Event, outcomes: list[Outcome]) -> None:
    """Requests in a loop on one keep-alive connection, a new one every few requests."""
    connection: http.client.HTTPConnection | None = None
    sent = 0
    while not stop.is_set():
        client_port = 0
        try:
            if connection is None or sent % REQUESTS_PER_CONNECTION == 0:
                if connection is not None:
                    connection.close()
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                connection.connect()
            client_port = connection.sock.getsockname()[1]
            sent += 1
            connection.request("POST", "/v1/models/xor:predict", BODY, HEADERS)
            response = connection.getresponse()
            response.read()
            outcomes.append(Outcome(client_port, response.status, time.monotonic()))
        except (OSError, http.client.HTTPException):
            outcomes.append(Outcome(client_port, None, time.monotonic()))
            if connection is not None:
                connection.close()
            connection = None
        time.sleep(PAUSE_S)
    if connection is not None:
        connection.close()


def test_a_worker_killed_under_load_is_replaced_and_the_others_fail_nothing(
    model_repository: Any, tmp_path: Path
) -> None:
    models_dir = copy_versions(model_repository.models_dir, tmp_path / "models", {"xor": [1]})
    env = {"LAYERLENS_WORKERS": "2", "LAYERLENS_LOG_LEVEL": "info"}
    log = tmp_path / "service.log"
    with log.open("wb") as output:
        process, port = start_service(model_repository, models_dir, env, output=output.fileno())
    stop, outcomes = threading.Event(), []
    owners: dict[int, int] = {}
    clients = [
        threading.Thread(target=_client, args=(port, stop, outcomes)) for _ in range(CLIENTS)
    ]
    try:
        wait_ready(f"http://127.0.0.1:{port}", alive=lambda: process.poll() is None)
        deadline = time.monotonic() + 120
        while len(workers := _workers(process.pid, port)) < 2:  # the second may still start
            assert time.monotonic() < deadline, "two workers never listened"
            time.sleep(0.2)
        for client in clients:
            client.start()
        # Both workers answering before the kill, or "the others fail nothing" says nothing.
        while len(set(owners.values())) < 2:
            assert time.monotonic() < deadline, "the load never reached both workers"
            owners.update(_owners(workers, port))
            time.sleep(0.05)
        original = set(workers)
        victim = Counter(owners.values()).most_common(1)[0][0]
        # Frozen first, so the connections it holds are read without a race, then killed.
        os.kill(victim, signal.SIGSTOP)
        held = {cp for cp, pid in _owners({victim}, port).items() if pid == victim}
        owners.update(dict.fromkeys(held, victim))
        killed_at = time.monotonic()
        os.kill(victim, signal.SIGKILL)

        ready_after = started_after = None
        # Measured past the bound, so that a failure says by how much.
        while ready_after is None and time.monotonic() - killed_at < MEASURE_FOR_S:
            replacements = _workers(process.pid, port) - original
            if replacements and started_after is None:
                started_after = time.monotonic() - killed_at
            owners.update(_owners(replacements, port))
            served = [
                o.at
                for o in list(outcomes)
                if o.status == 200
                and o.at > killed_at
                and owners.get(o.client_port) in replacements
            ]
            if served:
                ready_after = min(served) - killed_at
            time.sleep(0.2)
    finally:
        stop.set()
        for client in clients:
            client.join(timeout=60)
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()

    failures = Counter(owners.get(o.client_port, 0) for o in outcomes if o.status is None)
    statuses = Counter(o.status for o in outcomes if o.status is not None)
    print(
        f"sent {len(outcomes)}, answered {dict(statuses)}, failed {sum(failures.values())} "
        f"(by worker pid: {dict(failures)}; the killed one held {len(held)} connections), "
        f"a new worker started {started_after} s and served {ready_after} s after SIGKILL"
    )
    for line in log.read_text(errors="replace").splitlines():
        if any(word in line for word in _LIFECYCLE_LINES):
            print(line)
    assert set(statuses) == {200}
    assert set(failures) <= {victim}, failures  # nothing failed on another worker
    assert failures[victim] <= len(held)
    assert ready_after is not None, log.read_text(errors="replace")[-3000:]
    assert ready_after < READY_WITHIN_S
