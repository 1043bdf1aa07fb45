"""Overload, fairly: the serving stack and the load generator on different cores, an open
loop whose latency counts from each request's scheduled send time, at twice the capacity
measured through the same stack in the same run; through the edge and without it.

    python -m benchmarks.overload --fair [--seconds 60] [--factor 2] [--workers 1]

Cores (``taskset``): the serving stack (the API's processes, and HAProxy for the edge rows)
on ``SERVER_CPUS``; the load generators (wrk for the capacity, benchmarks.openloop for the
overload) on ``CLIENT_CPUS``. The edge is deploy/edge/haproxy.cfg run by Debian's haproxy on
the host, in front of the one API process group (LAYERLENS_EDGE_BACKEND=127.0.0.1).

Per stack (edge, then direct): capacity = 200 answers/s of wrk, closed loop at
``CAPACITY_CONNECTIONS`` connections, ``CAPACITY_SECONDS``; then ``factor`` x capacity, open
loop, for ``seconds``, with the API's (and HAProxy's) resident memory sampled every 5 s.

``--closed-loop`` runs issue 26's in-process test instead: the API alone with 2 workers,
unpinned as `make run` serves it, wrk at 32 and then 1,024 connections (each retries the
moment it is answered), the answers counted per status
(benchmarks/wrk_status.py: wrk's two threads, each status's p50/p99 as bounds read off
wrk's histogram of every answer). The 200s' p99 is exact, not a bound, when the only other
answers were 503s and the service's own counters show every one was a held refusal
(service.slots): each of those took at least the wait and the hold, so every answer faster
than that is a 200 (:func:`refusal_evidence`, :func:`p99_200`).
"""

from __future__ import annotations

import collections
import json
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import replace
from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families

from benchmarks import wrk_status
from benchmarks.servers import RunningServer, ServerSpec, _descendants, _rss_kb, free_port, start
from core.settings import Settings

SERVER_CPUS = "1"
CLIENT_CPUS = "0"
CAPACITY_CONNECTIONS = 32
CAPACITY_SECONDS = 15
EDGE_CONFIG = Path(__file__).resolve().parents[1] / "deploy" / "edge" / "haproxy.cfg"
#: Issue 26's targets.
TARGETS = {
    "edge_ok_share_of_capacity": 0.75,
    "edge_p99_200_ms": 100.0,
    "edge_p99_503_ms": 10.0,
    "closed_ok_share_of_32": 0.90,
    "closed_p99_200_ms": 250.0,
}


def pinned(cpus: str, command: list[str]) -> list[str]:
    return ["taskset", "-c", cpus, *command]


def open_loop(url: str, body_path: Path, *, rate: float, seconds: float) -> dict:
    command = [sys.executable, "-m", "benchmarks.openloop", url, "--rate", f"{rate:.1f}",
               "--seconds", str(seconds), "--body", str(body_path)]  # fmt: skip
    done = subprocess.run(pinned(CLIENT_CPUS, command), capture_output=True, text=True,
                          check=True, cwd=Path(__file__).resolve().parents[1])  # fmt: skip
    return json.loads(done.stdout.strip().splitlines()[-1])


class Edge:
    """Debian's haproxy with deploy/edge/haproxy.cfg, pinned beside the API."""

    def __init__(self, api_port: int, *, maxconn: int, max_queue: int, work_dir: Path) -> None:
        if shutil.which("haproxy") is None:
            raise SystemExit("haproxy is missing: apt-get install haproxy")
        self.port = free_port()
        env = {
            **os.environ,
            "LAYERLENS_EDGE_BACKEND": "127.0.0.1",
            "LAYERLENS_EDGE_HTTP_PORT": str(api_port),
            "LAYERLENS_EDGE_GRPC_PORT": str(free_port()),
            "LAYERLENS_EDGE_REPLICAS": "1",
            "LAYERLENS_EDGE_MAXCONN": str(maxconn),
            "LAYERLENS_EDGE_MAX_QUEUE": str(max_queue),
            "LAYERLENS_EDGE_LISTEN_PORT": str(self.port),
            "LAYERLENS_EDGE_LISTEN_GRPC_PORT": str(free_port()),
            "LAYERLENS_EDGE_LISTEN_METRICS_PORT": str(free_port()),
        }
        self.log = (work_dir / "haproxy.log").open("wb")
        self.process = subprocess.Popen(
            pinned(SERVER_CPUS, ["haproxy", "-W", "-db", "-f", str(EDGE_CONFIG)]),
            env=env, stdout=self.log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        time.sleep(4.0)  # the first health check marks the API up (inter 2s, rise 1)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def memory_mb(self) -> float:
        return sum(_rss_kb(p) for p in [self.process.pid, *_descendants(self.process.pid)]) / 1024

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)
        self.log.close()


def sample(server: RunningServer, edge: Edge | None, stop: threading.Event, into: list) -> None:
    started = time.monotonic()
    while not stop.wait(5.0):
        mb = sum(server.memory_mb().values()) + (edge.memory_mb() if edge else 0.0)
        into.append((round(time.monotonic() - started, 1), round(mb, 1)))


def memory_change(memory: list[tuple[float, float]]) -> float | None:
    """Relative change of resident memory from the first sample after 20 s to the last."""
    settled = [mb for t, mb in memory if t >= 20] or [mb for _, mb in memory]
    return round((settled[-1] - settled[0]) / settled[0], 4) if len(settled) > 1 else None


def fair_rows(spec: ServerSpec, path: str, body_path: Path, *, seconds: float, factor: float,
              work_dir: Path, edge_maxconn: int, edge_max_queue: int) -> list[dict]:  # fmt: skip
    """Edge and direct, each: capacity then the open loop at ``factor`` times it."""
    spec = replace(spec, command=pinned(SERVER_CPUS, spec.command),
                   env={**spec.env, "LAYERLENS_GRPC_PORT": str(free_port())})  # fmt: skip
    server = start(spec, log_dir=work_dir)
    rows = []
    try:
        for stack in ("edge", "direct"):
            edge = (
                Edge(server.port, maxconn=edge_maxconn, max_queue=edge_max_queue,
                     work_dir=work_dir) if stack == "edge" else None
            )  # fmt: skip
            base = edge.base_url if edge else server.base_url
            try:
                wrk_status.run(base + path, body_path, connections=CAPACITY_CONNECTIONS,
                               seconds=3, cpus=CLIENT_CPUS)  # fmt: skip  # warm-up
                cap = wrk_status.run(base + path, body_path, connections=CAPACITY_CONNECTIONS,
                                     seconds=CAPACITY_SECONDS, cpus=CLIENT_CPUS)  # fmt: skip
                rate = factor * cap["ok_per_s"]
                print(f"{stack}: capacity {cap['ok_per_s']:,.0f}/s; open loop at "
                      f"{rate:,.0f}/s for {seconds:.0f} s", flush=True)  # fmt: skip
                memory: list[tuple[float, float]] = []
                stop = threading.Event()
                sampler = threading.Thread(target=sample, args=(server, edge, stop, memory))
                sampler.start()
                try:
                    load = open_loop(base + path, body_path, rate=rate, seconds=seconds)
                finally:
                    stop.set()
                    sampler.join()
            finally:
                if edge:
                    edge.stop()
            rows.append(row_of(stack, cap, load, memory, seconds))
            print(json.dumps(rows[-1]), flush=True)
    finally:
        server.stop()
    return rows


def row_of(stack: str, cap: dict, load: dict, memory: list, seconds: float) -> dict:
    statuses = load["statuses"]
    ok = statuses.get("200", {"count": 0, "p99_ms": float("nan")})
    shed = statuses.get("503", {"count": 0, "p99_ms": 0.0})
    row = {
        "stack": stack,
        "capacity_per_s": cap["ok_per_s"],
        "rate_per_s": load["rate"],
        "ok_per_s": round(ok["count"] / seconds, 1),
        "ok_share_of_capacity": round(ok["count"] / seconds / cap["ok_per_s"], 3),
        "p99_200_ms": ok["p99_ms"],
        "p99_503_ms": shed["p99_ms"] if shed["count"] else None,
        "statuses": {k: v["count"] for k, v in statuses.items()},
        "no_answer": load["no_answer"],
        "send_lag_ms": load.get("send_lag_ms"),
        "memory_mb": memory,
        "memory_change": memory_change(memory),
        "open_loop": load,
    }
    if stack == "edge":
        row["acceptance"] = {
            "ok_share_of_capacity": row["ok_share_of_capacity"]
            >= TARGETS["edge_ok_share_of_capacity"],
            "p99_200_ms": ok["p99_ms"] <= TARGETS["edge_p99_200_ms"],
            "p99_503_ms": (shed["p99_ms"] <= TARGETS["edge_p99_503_ms"]) if shed["count"] else True,
            "only_200_and_503": set(statuses) <= {"200", "503"} and load["no_answer"] == 0,
            "memory_within_5pct": abs(row["memory_change"] or 0.0) <= 0.05,
        }
    return row


def closed_loop_rows(spec: ServerSpec, path: str, body_path: Path, *, seconds: float,
                     work_dir: Path) -> list[dict]:  # fmt: skip
    """Issue 26's in-process test: 2 workers, unpinned; wrk at 32, then 1,024 connections."""
    spec = replace(spec, env={**spec.env, "LAYERLENS_GRPC_PORT": str(free_port())})
    server = start(spec, log_dir=work_dir)
    url = server.base_url + path
    try:
        wrk_status.run(url, body_path, connections=CAPACITY_CONNECTIONS, seconds=3)
        at_32 = wrk_status.run(url, body_path, connections=32, seconds=CAPACITY_SECONDS)
        before = sum(server.memory_mb().values())
        split: list[list[int]] = []
        census = threading.Timer(seconds / 2, lambda: split.append(connection_split(server.port)))
        census.start()
        counted_before = refusal_counts(server.base_url)
        at_1024 = wrk_status.run(url, body_path, connections=1024, seconds=seconds)
        census.join()
        time.sleep(held_refusal_floor_ms() / 1000.0)  # refusals still held are counted
        counted_after = refusal_counts(server.base_url)
        after = sum(server.memory_mb().values())
    finally:
        server.stop()
    at_1024["connections_per_worker"] = split[0] if split else None
    at_1024["refusals"] = refusal_evidence(
        counted_before,
        counted_after,
        answered_503=at_1024["statuses"].get("503", {}).get("count", 0),
    )
    return [at_32, closed_loop_verdict(at_1024, at_32, memory_mb=(before, after))]


#: How much earlier than its deadline an event loop's timer may fire: libuv keeps time in
#: milliseconds, cached once per loop iteration.
TIMER_SLACK_MS = 10.0


def held_refusal_floor_ms() -> float:
    """The least time a held refusal takes, as its client sees it: the wait for a slot, then
    the hold (service.slots), less the timer slack. The server reads the same settings (it
    inherits this process's LAYERLENS_ variables)."""
    settings = Settings()
    return settings.max_in_flight_wait_ms + settings.overload_hold_ms - TIMER_SLACK_MS


def refusal_counts(base_url: str) -> dict[str, float]:
    """The service's own counts: refusals by the in-flight bound (held), and every 503 the
    application answered (not held: a batcher's queue-deadline refusal, for one)."""
    return refusal_counts_of(httpx.get(base_url + "/metrics", timeout=30.0).text)


def refusal_counts_of(text: str) -> dict[str, float]:
    """:func:`refusal_counts` from a Prometheus exposition ``text``."""
    counts = {"held": 0.0, "app_503": 0.0}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "layerlens_requests_shed_total" and (
                sample.labels.get("reason") == "in_flight"
            ):
                counts["held"] += sample.value
            elif sample.name == "layerlens_requests_total" and sample.labels.get("status") == "503":
                counts["app_503"] += sample.value
    return counts


def refusal_evidence(before: dict[str, float], after: dict[str, float], *,
                     answered_503: int) -> dict:  # fmt: skip
    """Whether every 503 wrk saw was a held refusal: the application answered none itself,
    and the in-flight bound refused at least as many (a refusal still held when wrk
    stopped is counted by the server, not answered to wrk)."""
    held = round(after["held"] - before["held"])
    app_503 = round(after["app_503"] - before["app_503"])
    return {
        "held_by_server": held,
        "app_503_by_server": app_503,
        "floor_ms": held_refusal_floor_ms(),
        "all_503s_held": app_503 == 0 and held >= answered_503,
    }


def p99_200(row: dict) -> tuple[float, bool]:
    """The 200s' p99 and whether it is exact. With no other status the two bounds are the
    same. With 503s only, all of them held, the lower bound (the value at the 200s' rank
    among every answer) is the 200s' own when it is under the held refusals' floor: every
    answer at or below it is a 200. Otherwise the upper bound, which holds whatever the
    other answers were."""
    ok = row["statuses"].get("200")
    if ok is None:
        return math.inf, False
    others = set(row["statuses"]) - {"200"}
    if not others:
        return ok["p99_ms"], True
    evidence = row.get("refusals") or {}
    if (
        others == {"503"}
        and evidence.get("all_503s_held", False)
        and ok["p99_ms_low"] < evidence["floor_ms"]
    ):
        return ok["p99_ms_low"], True
    return ok["p99_ms"], False


def connection_split(port: int) -> list[int]:
    """Established connections to ``port`` per server process, most first (``ss -tnp``):
    how the kernel spread the client's connections over the workers."""
    out = subprocess.run(["ss", "-Htnp", "state", "established", f"( sport = :{port} )"],
                         capture_output=True, text=True, check=False).stdout  # fmt: skip
    return split_of(out)


def split_of(ss_output: str) -> list[int]:
    """Connections per owning process in ``ss -tnp`` lines, most first. A connection the
    kernel completed but no worker has accepted yet has no owner and is not counted."""
    owners = [m.group(1) for line in ss_output.splitlines() if (m := re.search(r"pid=(\d+)", line))]
    return sorted(collections.Counter(owners).values(), reverse=True)


def closed_loop_verdict(at_1024: dict, at_32: dict, *, memory_mb: tuple[float, float]) -> dict:
    """The 1,024-connection row with its share of the 32-connection rate and each of issue
    26's in-process acceptance lines."""
    share = at_1024["ok_per_s"] / at_32["ok_per_s"]
    p99, exact = p99_200(at_1024)
    before, after = memory_mb
    return {
        **at_1024,
        "ok_share_of_32": round(share, 3),
        "p99_200_ms": round(p99, 3),
        "p99_200_exact": exact,
        "memory_mb_before_after": [round(before, 1), round(after, 1)],
        "acceptance": {
            "ok_share_of_32": share >= TARGETS["closed_ok_share_of_32"],
            "p99_200_ms": p99 <= TARGETS["closed_p99_200_ms"],
            "only_200_and_503": set(at_1024["statuses"]) <= {"200", "503"}
            and at_1024["errors"] == 0,
            "memory_within_5pct": abs(after - before) <= 0.05 * before,
        },
    }


def _markdown(header: str, align: str, cells: list[list[str]]) -> str:
    """A Markdown table: the header and alignment rows as written, one line per row of cells."""
    return "\n".join([header, align, *("| " + " | ".join(row) + " |" for row in cells)])


def closed_loop_table(rows: list[dict]) -> str:
    """Markdown: per connection count, the 200s' and 503s' rate and latency."""
    cells = []
    for r in rows:
        ok = r["statuses"].get("200", {})
        shed = r["statuses"].get("503", {})
        share = f"{r['ok_share_of_32']:.2f}" if "ok_share_of_32" in r else "-"
        cells.append([
            f"{r['connections']:,}", f"{r['ok_per_s']:,.0f}", share,
            _ms(ok, "p50_ms"), _p99_200(r), f"{shed.get('count', 0):,}",
            _ms(shed, "p50_ms"), _ms(shed, "p99_ms"), f"{r['errors']}",
        ])  # fmt: skip
    return _markdown(
        "| connections | 200/s | 200s / at 32 | p50 200 | p99 200 | 503s | p50 503 | p99 503 "
        "| errors |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        cells,
    )


def _p99_200(row: dict) -> str:
    """The 200s' p99: exact, or its upper bound marked as such."""
    p99, exact = p99_200(row)
    if math.isinf(p99):
        return "-"
    return f"{p99:,.1f} ms" if exact else f"<= {p99:,.1f} ms"


def _ms(status: dict, key: str) -> str:
    return f"{status[key]:,.1f} ms" if key in status else "-"


def table(rows: list[dict]) -> str:
    cells = []
    for r in rows:
        p503 = f"{r['p99_503_ms']:.1f} ms" if r["p99_503_ms"] is not None else "-"
        cells.append([
            r["stack"], f"{r['capacity_per_s']:,.0f}", f"{r['rate_per_s']:,.0f}",
            f"{r['ok_per_s']:,.0f}", f"{r['ok_share_of_capacity']:.2f}",
            f"{r['p99_200_ms']:.1f} ms", p503, f"{r['statuses']} no answer {r['no_answer']}",
            f"{100 * (r['memory_change'] or 0):+.1f}%",
        ])  # fmt: skip
    return _markdown(
        "| stack | capacity/s | offered/s | 200/s | 200s / capacity | p99 200 | p99 503 "
        "| answers | memory change |",
        "|---|---:|---:|---:|---:|---:|---:|---|---:|",
        cells,
    )


def write(result: dict, out: Path) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2))
    print(f"wrote {out}")


def new_work_dir() -> Path:
    return Path(tempfile.mkdtemp(prefix="layerlens-fair-overload-"))
