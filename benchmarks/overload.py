"""Overload: a fixed request rate at twice the measured capacity, latency per status.

    python -m benchmarks.overload [--seconds 300] [--factor 2] [--workers 2]
    python -m benchmarks.overload --fair [--seconds 60]     (issue 26: benchmarks/fair_overload.py)
    python -m benchmarks.overload --closed-loop [--seconds 30]   (wrk at 32, then 1,024)
    LAYERLENS_MAX_IN_FLIGHT=48 python -m benchmarks.overload --closed-loop   (a candidate)

1. Capacity: JSON single-image ``:predict`` on ``digits`` driven closed-loop (hey, 64
   connections, no rate limit): the 200 answers per second.
2. Overload: ``factor`` times that rate for ``seconds``, paced by hey's per-connection rate
   limit over so many connections that each one's interval (0.25 s) is longer than any
   answer the service should give: requests leave at the fixed rate whatever the answers
   do (open loop), unless an answer takes longer than the interval. The achieved rate is
   reported beside the target, so a run where pacing broke down says so.
3. Per status: count and latency percentiles (hey writes one CSV row per answer; requests
   that got no answer at all are the target count minus the rows). The server's resident
   memory is sampled throughout; its change after the first minute is reported.

``--costs`` measures instead what one answer costs the server, served and refused: hey
closed-loop at 64 connections for 10 s, the server's CPU time from ``/proc`` divided by the
answers, once as configured and once with ``LAYERLENS_MAX_IN_FLIGHT=1`` (nearly every
request refused before its body is read). The two figures bound what shedding can do: to
serve 80% of capacity while refusing the rest of twice that load, a refusal may cost at
most a sixth of a served request.

The load generator is hey (Debian package ``hey``): wrk2, the usual constant-rate tool,
is not packaged, and hey's CSV gives each answer's status with its latency.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from dataclasses import replace
from pathlib import Path

import numpy as np

from benchmarks import fair_overload
from benchmarks.models import MODEL, find_saved_model
from benchmarks.payloads import predict_json, test_images
from benchmarks.run import server_specs, warm_up
from benchmarks.scenarios import OURS, Case
from benchmarks.servers import RunningServer, ServerSpec, cpu_seconds, start
from core.settings import Settings

DEFAULT_OUT = Path("benchmarks/results/overload.json")
COSTS_OUT = Path("benchmarks/results/overload-costs.json")
FAIR_OUT = Path("benchmarks/results/overload-fair.json")
CLOSED_LOOP_OUT = Path("benchmarks/results/overload-closed-loop.json")
CAPACITY_CONNECTIONS = 64
CAPACITY_SECONDS = 15
COST_SECONDS = 10
#: Each paced connection sends one request per this many seconds.
PACING_INTERVAL_S = 0.25
#: Targets of the acceptance lines (issue: "overload is shed, not queued").
TARGETS = {"p99_200_ms": 100.0, "p99_503_ms": 10.0, "ok_share_of_capacity": 0.8}


def ensure_hey() -> str:
    found = shutil.which("hey")
    if found:
        return found
    subprocess.run(["apt-get", "install", "-y", "-qq", "hey"], check=True)
    return shutil.which("hey") or "hey"


def hey(url: str, body_path: Path, *, seconds: float, connections: int, rate: float | None,
        csv_out: Path | None = None) -> str:  # fmt: skip
    command = [ensure_hey(), "-z", f"{seconds}s", "-c", str(connections), "-m", "POST",
               "-T", "application/json", "-D", str(body_path), "-t", "10"]  # fmt: skip
    if rate is not None:
        command += ["-q", f"{rate / connections:.4f}"]
    if csv_out is not None:
        command += ["-o", "csv"]
    with (csv_out or Path("/dev/null")).open("w") as out:
        result = subprocess.run(
            [*command, url], stdout=out if csv_out else subprocess.PIPE, text=True, check=True
        )
    return result.stdout or ""


def statuses_of(summary: str) -> dict[str, int]:
    """Answers per status code, from hey's summary (its status code distribution)."""
    return {code: int(n) for code, n in re.findall(r"\[(\d{3})\]\s+(\d+) responses", summary)}


def capacity(summary: str, seconds: float) -> float:
    """200 answers per second, from hey's summary."""
    ok = statuses_of(summary).get("200")
    if not ok:
        raise RuntimeError(f"no 200 answers while measuring capacity:\n{summary[-2000:]}")
    return ok / seconds


def answer_costs(spec: ServerSpec, url_path: str, body_path: Path, work_dir: Path) -> list[dict]:
    """CPU per answer, as configured and with nearly every request refused (in flight 1)."""
    rows = []
    refused = {"LAYERLENS_MAX_IN_FLIGHT": "1", "LAYERLENS_MAX_IN_FLIGHT_WAIT_MS": "0",
               "LAYERLENS_OVERLOAD_HOLD_MS": "0"}  # fmt: skip  # refused at once: its CPU
    for label, extra in (("served", {}), ("refused", refused)):
        server = start(replace(spec, env={**spec.env, **extra}), log_dir=work_dir)
        try:
            url = server.base_url + url_path
            hey(url, body_path, seconds=3, connections=CAPACITY_CONNECTIONS, rate=None)
            before = cpu_seconds(server.process.pid)
            summary = hey(url, body_path, seconds=COST_SECONDS,
                          connections=CAPACITY_CONNECTIONS, rate=None)  # fmt: skip
            used = cpu_seconds(server.process.pid) - before
        finally:
            server.stop()
        statuses = statuses_of(summary)
        answers = sum(statuses.values())
        row = {
            "server": label,
            "statuses": statuses,
            "answers_per_s": round(answers / COST_SECONDS, 1),
            "cpu_us_per_answer": round(1e6 * used / max(answers, 1), 1),
        }
        rows.append(row)
        print(
            f"{label:8} {row['answers_per_s']:>9,.0f} answers/s  {statuses}  "
            f"{row['cpu_us_per_answer']:6.1f} us of server CPU per answer",
            flush=True,
        )
    return rows


def report_costs(rows: list[dict], *, model: str, command: str, out: Path) -> None:
    served, refused = (row["cpu_us_per_answer"] for row in rows)
    result = {
        "command": command,
        "model": model,
        "rows": rows,
        "refused_over_served": round(refused / served, 3),
        "shedding_bound": "a refusal may cost at most 1/6 of a served request",
    }
    print(json.dumps(result, indent=2))
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2))


def per_status(csv_path: Path) -> dict[str, dict[str, float]]:
    latencies: dict[str, list[float]] = defaultdict(list)
    with csv_path.open() as file:
        for row in csv.DictReader(file):
            latencies[row["status-code"]].append(float(row["response-time"]) * 1000)
    out = {}
    for status, values in sorted(latencies.items()):
        array = np.asarray(values)
        out[status] = {
            "count": len(values),
            "p50_ms": round(float(np.percentile(array, 50)), 2),
            "p99_ms": round(float(np.percentile(array, 99)), 2),
            "max_ms": round(float(array.max()), 2),
        }
    return out


def sample_memory(server: RunningServer, stop: threading.Event, into: list) -> None:
    started = time.monotonic()
    while not stop.wait(5.0):
        into.append((round(time.monotonic() - started, 1), sum(server.memory_mb().values())))


def overload_result(
    csv_path: Path,
    memory: list[tuple[float, float]],
    *,
    cap: float,
    rate: float,
    seconds: float,
    connections: int,
    command: str,
) -> dict:
    """The run's figures per status, and each acceptance line against ``TARGETS``."""
    statuses = per_status(csv_path)
    answered = sum(s["count"] for s in statuses.values())
    ok = statuses.get("200", {"count": 0, "p99_ms": float("nan")})
    shed = statuses.get("503", {"count": 0, "p99_ms": float("nan")})
    after_first_minute = [mb for t, mb in memory if t >= 60] or [mb for _, mb in memory]
    result = {
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "command": command,
        "capacity_per_s": round(cap, 1),
        "target_rate_per_s": round(rate, 1),
        "achieved_rate_per_s": round(answered / seconds, 1),
        "connections": connections,
        "sent_target": round(rate * seconds),
        "answered": answered,
        "statuses": statuses,
        "ok_share_of_capacity": round(ok["count"] / seconds / cap, 3),
        "memory_mb": memory,
        "memory_change_after_first_minute": round(
            (after_first_minute[-1] - after_first_minute[0]) / after_first_minute[0], 4
        )
        if after_first_minute
        else None,
        "targets": TARGETS,
    }
    result["acceptance"] = {
        "p99_200_ms": ok["p99_ms"] <= TARGETS["p99_200_ms"],
        "p99_503_ms": shed["p99_ms"] <= TARGETS["p99_503_ms"] if shed["count"] else True,
        "ok_share_of_capacity": result["ok_share_of_capacity"] >= TARGETS["ok_share_of_capacity"],
        "only_200_and_503": set(statuses) <= {"200", "503"},
        "memory_within_5pct": abs(result["memory_change_after_first_minute"] or 0) <= 0.05,
    }
    return result


def layerlens_env() -> dict[str, str]:
    """The service settings this run's environment overrides (the server inherits them)."""
    return {k: v for k, v in sorted(os.environ.items()) if k.startswith("LAYERLENS_")}


def fair_main(args: argparse.Namespace, spec: ServerSpec, path: str, body_path: Path,
              work_dir: Path, argv: list[str] | None) -> int:  # fmt: skip
    """Issue 26's runs (benchmarks/fair_overload.py): one table and one JSON each."""
    command = " ".join(["python -m benchmarks.overload", *(argv or sys.argv[1:])])
    if args.closed_loop:
        load_at_start = os.getloadavg()  # at the end it counts wrk's 1,024 threads too
        rows = fair_overload.closed_loop_rows(
            replace(spec, workers=2, env={**spec.env, "LAYERLENS_WORKERS": "2"}),
            path, body_path, seconds=args.seconds, work_dir=work_dir,
        )  # fmt: skip
        print(fair_overload.closed_loop_table(rows))
        result = {"command": command, "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                  "load_average_at_start": load_at_start, "settings_from_env": layerlens_env(),
                  "targets": fair_overload.TARGETS, "rows": rows}  # fmt: skip
        fair_overload.write(result, args.out or CLOSED_LOOP_OUT)
        return 0
    rows = fair_overload.fair_rows(
        spec, path, body_path, seconds=args.seconds, factor=args.factor, work_dir=work_dir,
        edge_maxconn=args.edge_maxconn, edge_max_queue=args.edge_max_queue,
    )  # fmt: skip
    print(fair_overload.table(rows))
    result = {"command": command, "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
              "server_cpus": fair_overload.SERVER_CPUS, "client_cpus": fair_overload.CLIENT_CPUS,
              "targets": fair_overload.TARGETS, "rows": rows}  # fmt: skip
    fair_overload.write(result, args.out or FAIR_OUT)
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.overload", description=__doc__)
    parser.add_argument("--seconds", type=float, default=300.0)
    parser.add_argument("--factor", type=float, default=2.0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--models-dir", type=Path)
    parser.add_argument("--out", type=Path, help=f"default {DEFAULT_OUT}, or {COSTS_OUT}")
    parser.add_argument("--model", default=MODEL, help="the model driven (default digits)")
    parser.add_argument("--costs", action="store_true",
                        help="measure the CPU per answer served and refused instead")  # fmt: skip
    parser.add_argument("--fair", action="store_true",
                        help="pinned cores, open loop, with and without the edge")  # fmt: skip
    parser.add_argument("--closed-loop", action="store_true",
                        help="wrk at 32 then 1,024 connections against 2 workers")  # fmt: skip
    parser.add_argument("--edge-maxconn", type=int, default=32)
    parser.add_argument("--edge-max-queue", type=int, default=32)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    work_dir = Path(tempfile.mkdtemp(prefix="layerlens-overload-"))
    models_dir, saved_model, _ = find_saved_model(
        args.models_dir or Settings().models_dir, work_dir
    )
    body = predict_json(test_images(Settings().data_dir)[0])
    body_path = work_dir / "body.json"
    body_path.write_bytes(body.content)
    specs = server_specs(models_dir, saved_model, work_dir, workers=args.workers, servers={OURS})
    path = f"/v1/models/{args.model}:predict"
    if args.fair or args.closed_loop:
        return fair_main(args, specs[OURS], path, body_path, work_dir, argv)
    if args.costs:
        command = " ".join(["python -m benchmarks.overload", *(argv or sys.argv[1:])])
        rows = answer_costs(specs[OURS], path, body_path, work_dir)
        report_costs(rows, model=args.model, command=command, out=args.out or COSTS_OUT)
        return 0
    server = start(specs[OURS], log_dir=work_dir)
    url = f"{server.base_url}{path}"
    memory: list[tuple[float, float]] = []
    try:
        warm_up(server, Case("predict-json", OURS, 1, path, body))
        summary = hey(url, body_path, seconds=CAPACITY_SECONDS,
                      connections=CAPACITY_CONNECTIONS, rate=None)  # fmt: skip
        cap = capacity(summary, CAPACITY_SECONDS)
        rate = args.factor * cap
        connections = max(CAPACITY_CONNECTIONS, round(rate * PACING_INTERVAL_S))
        print(f"capacity {cap:,.0f}/s; driving {rate:,.0f}/s over {connections} connections "
              f"for {args.seconds:.0f} s", flush=True)  # fmt: skip
        stop = threading.Event()
        sampler = threading.Thread(target=sample_memory, args=(server, stop, memory))
        sampler.start()
        csv_path = work_dir / "answers.csv"
        try:
            hey(url, body_path, seconds=args.seconds, connections=connections, rate=rate,
                csv_out=csv_path)  # fmt: skip
        finally:
            stop.set()
            sampler.join()
    finally:
        server.stop()
    command = " ".join(["python -m benchmarks.overload", *(argv or sys.argv[1:])])
    result = overload_result(csv_path, memory, cap=cap, rate=rate, seconds=args.seconds,
                             connections=connections, command=command)  # fmt: skip
    out = args.out or DEFAULT_OUT
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2))
    print(json.dumps({k: v for k, v in result.items() if k != "memory_mb"}, indent=2))
    return 0 if all(result["acceptance"].values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
