"""The benchmark survives its peers: a server that does not start is a row, not an abort."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from benchmarks import report
from benchmarks.payloads import Body
from benchmarks.run import run_server
from benchmarks.scenarios import Case
from benchmarks.servers import ServerFailed, ServerSpec, free_ports, start


def _spec(code: str, **env: str) -> ServerSpec:
    return ServerSpec("peer", [sys.executable, "-c", code], "/ready", env=env, ready_timeout_s=20)


def test_free_ports_are_distinct() -> None:
    ports = free_ports(3)
    assert len(set(ports)) == 3


def test_every_port_placeholder_gets_its_own_port(tmp_path: Path) -> None:
    code = "import os, sys; print(os.environ['A'], os.environ['B'], sys.argv[1]); sys.exit(1)"
    spec = ServerSpec(
        "peer",
        [sys.executable, "-c", code, "{port}"],
        "/ready",
        env={"A": "{grpc_port}", "B": "{metrics_port}"},
    )
    with pytest.raises(ServerFailed) as failed:
        start(spec, log_dir=tmp_path)
    ports = failed.value.last_line.split()
    assert len(ports) == 3 and len(set(ports)) == 3 and all(p.isdigit() for p in ports)


def test_a_peer_that_fails_to_start_becomes_failed_rows(tmp_path: Path) -> None:
    spec = _spec("print('address already in use: 8082'); raise SystemExit(1)")
    body = Body(b"{}", "application/json")
    mine = [Case("predict-json", "peer", c, "/infer", body) for c in (1, 32)]
    rows, info = run_server("peer", spec, mine, seconds=1.0, work_dir=tmp_path)
    assert [row["concurrency"] for row in rows] == [1, 32]
    assert all(row["failed"] for row in rows)
    assert rows[0]["log_last_line"] == "address already in use: 8082"
    assert info["failed"] and info["log_last_line"] == "address already in use: 8082"
    ratios, checks = report.acceptance(rows, {"peer": info})
    text = report.table(rows, {"peer": info}, ratios, checks)
    assert "FAILED" in text and "address already in use: 8082" in text
