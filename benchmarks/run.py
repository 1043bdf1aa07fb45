"""One command: start each server on a loopback port, load it with wrk, print + save results.

    python -m benchmarks.run [--quick] [--out benchmarks/results/latest.json]

Servers run one after another (never driven side by side: they would share the two
cores): layerlens (``python -m service``), the HTTP ceilings and the naive Keras service
(benchmarks/apps, uvicorn with the same workers), and Seldon MLServer with adaptive
batching (benchmarks/peer, in its own venv). Then layerlens and the ceiling are driven in
alternating rounds for the ceiling ratio. See benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

import httpx

from benchmarks import report
from benchmarks.baseline import baseline_spec, export
from benchmarks.loadgen import ensure_wrk, run_wrk
from benchmarks.models import find_saved_model
from benchmarks.payloads import test_images
from benchmarks.peer.setup import PEER_MAX_BATCH_TIME_MS, mlserver_spec
from benchmarks.scenarios import (
    ACCEPTANCE_CONCURRENCY,
    BASELINE,
    BASELINE_SCENARIOS,
    CEILING,
    CEILING_PYDANTIC,
    NAIVE,
    OURS,
    PAIRED,
    PAIRED_PNG,
    PEER,
    Case,
    cases,
)
from benchmarks.servers import RunningServer, ServerFailed, ServerSpec, cpu_seconds, start
from core.settings import Settings

DEFAULT_OUT = Path("benchmarks/results/latest.json")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="3 s per scenario instead of 10 s")
    parser.add_argument("--seconds", type=float, help="seconds per scenario (overrides --quick)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="where the JSON goes")
    parser.add_argument("--workers", type=int, default=2, help="worker processes per server")
    parser.add_argument("--models-dir", type=Path, help="model repository (default: settings)")
    parser.add_argument(
        "--pairs",
        type=int,
        default=3,
        help="alternating layerlens/ceiling rounds for the ceiling ratio (0: skip)",
    )
    parser.add_argument(
        "--servers",
        default=",".join(report.SERVERS),
        help=f"comma-separated subset of: {', '.join(report.SERVERS)}",
    )
    parser.add_argument(
        "--baseline",
        metavar="REV",
        help="also run the why-answer scenarios on layerlens as of commit REV, for the "
        "speed-up ratios the acceptance reads (measured in this run)",
    )
    parser.add_argument(
        "--scenarios",
        help="comma-separated scenario name prefixes to run (default: all), e.g. explain,neighbors",
    )
    return parser.parse_args(argv)


def server_specs(
    models_dir: Path, saved_model: Path, work_dir: Path, *, workers: int, servers: set[str]
) -> dict[str, ServerSpec]:
    python = sys.executable
    settings = Settings()
    uvicorn = [python, "-m", "uvicorn", "--factory", "--host", "127.0.0.1", "--port", "{port}",
               "--workers", str(workers), "--log-level", "warning", "--no-access-log"]  # fmt: skip
    specs = {
        OURS: ServerSpec(
            OURS,
            [python, "-m", "service"],
            "/v2/health/ready",
            env={
                "LAYERLENS_MODELS_DIR": str(models_dir.resolve()),
                "LAYERLENS_DATABASE_URL": f"sqlite:///{work_dir / 'bench.db'}",
                "LAYERLENS_PORT": "{port}",
                "LAYERLENS_HOST": "127.0.0.1",
                "LAYERLENS_WORKERS": str(workers),
                "LAYERLENS_LOG_LEVEL": "warning",  # no access-log line per request
            },
            workers=workers,
        ),
        CEILING: ServerSpec(CEILING, [*uvicorn, "benchmarks.apps.ceiling:create_app"], "/ready"),
        CEILING_PYDANTIC: ServerSpec(
            CEILING_PYDANTIC, [*uvicorn, "benchmarks.apps.ceiling_pydantic:create_app"], "/ready"
        ),
        NAIVE: ServerSpec(
            NAIVE,
            [*uvicorn, "benchmarks.apps.naive:create_app"],
            "/ready",
            env={"BENCH_SAVED_MODEL": str(saved_model.resolve())},
        ),
    }
    if PEER in servers:
        try:
            specs[PEER] = mlserver_spec(
                saved_model,
                work_dir,
                workers=workers,
                max_batch_size=settings.batch_max_size,
                max_wait_ms=PEER_MAX_BATCH_TIME_MS,
            )
        except (OSError, subprocess.CalledProcessError) as exc:
            # Its venv could not be made: the peer "exits during start-up" saying why, so it
            # is a failed row like any other peer that does not start, and the run goes on.
            why = f"could not set up the MLServer venv: {exc}"
            specs[PEER] = ServerSpec(PEER, [python, "-c", f"raise SystemExit({why!r})"], "/")
    return {name: spec for name, spec in specs.items() if name in servers}


#: The unrecorded run before the alternating rounds of the why rows: layerlens compiles
#: the explain paths of the batch sizes concurrency makes (about 6 s a size per worker,
#: in the background: ``service.runtime.compiled_paths``); rounds measure it compiled.
SETTLE_SECONDS = 30.0


def warm_up(server: RunningServer, case: Case, requests: int = 20) -> None:
    """A few requests first: the first calls trace functions and fill caches."""
    with httpx.Client(base_url=server.base_url, timeout=60.0) as client:
        for _ in range(requests):
            answer = client.post(
                case.path,
                content=case.body.content,
                headers={"Content-Type": case.body.content_type},
            )
            if answer.status_code != 200:
                raise ServerFailed(
                    case.server,
                    f"answered {case.scenario} with HTTP {answer.status_code}",
                    answer.text[:300],
                )


def drive(server: RunningServer, case: Case, seconds: float) -> dict[str, object]:
    """One wrk run against ``server``, with the server's CPU time per request beside it."""
    before = cpu_seconds(server.process.pid)
    load = run_wrk(server.base_url + case.path, case.body,
                   connections=case.concurrency, seconds=seconds)  # fmt: skip
    used = cpu_seconds(server.process.pid) - before
    return {"scenario": case.scenario, "server": case.server, "concurrency": case.concurrency,
            "images_per_request": case.body.images, **load.as_dict(),
            "server_cpu_ms_per_request": round(1000 * used / max(1, load.requests), 4)}  # fmt: skip


@contextlib.contextmanager
def running(
    specs: dict[str, ServerSpec], names: tuple[str, ...], work_dir: Path
) -> Iterator[dict[str, RunningServer]]:
    """Several servers up at once (an idle server uses no CPU), stopped on the way out."""
    servers: dict[str, RunningServer] = {}
    try:
        for name in names:
            servers[name] = start(specs[name], log_dir=work_dir)
        yield servers
    finally:
        for server in servers.values():
            server.stop()


def round_row(
    server: RunningServer, case: Case, seconds: float, index: int, scenario: str | None = None
) -> dict[str, object]:
    """One wrk run of an alternating round, printed as it ends."""
    row = drive(server, case, seconds) | {"scenario": scenario or case.scenario, "round": index}
    print(report.row_line(row), flush=True)
    return row


def paired_rounds(
    specs: dict[str, ServerSpec], plan: list[Case], *, rounds: int, seconds: float, work_dir: Path
) -> list[dict[str, object]]:
    """The ceiling ratio from back-to-back runs: both servers up, driven in turn, the order
    swapped every round. Throughput on a shared machine drifts by a quarter within
    minutes, so rows measured minutes apart compare the machine as much as the servers;
    each round's pair is seconds apart."""
    c = ACCEPTANCE_CONCURRENCY
    pick = {name: next(x for x in plan if x.server == name and x.scenario == "predict-json"
                       and x.concurrency == c) for name in (OURS, CEILING)}  # fmt: skip
    rows: list[dict[str, object]] = []
    try:
        with running(specs, (OURS, CEILING), work_dir) as servers:
            for name in (OURS, CEILING):
                warm_up(servers[name], pick[name])
            png = next((x for x in plan if x.server == OURS and x.scenario == "predict-png"
                        and x.concurrency == c), None)  # fmt: skip
            if png is not None:
                warm_up(servers[OURS], png)
            for index in range(rounds):
                order = (OURS, CEILING) if index % 2 == 0 else (CEILING, OURS)
                for name in order:
                    rows.append(round_row(servers[name], pick[name], seconds, index, PAIRED))
                    if name == OURS and png is not None:  # the upload/JSON ratio, seconds apart
                        rows.append(round_row(servers[OURS], png, seconds, index, PAIRED_PNG))
    except (ServerFailed, RuntimeError, httpx.HTTPError) as exc:
        failed = failure_row(pick[getattr(exc, "name", OURS)], exc) | {"scenario": PAIRED}
        rows.append(failed)
        print(report.row_line(failed), flush=True)
    return rows


def baseline_rounds(
    specs: dict[str, ServerSpec], plan: list[Case], *, rounds: int, seconds: float, work_dir: Path
) -> list[dict[str, object]]:
    """The why rows (``BASELINE_SCENARIOS``) of this checkout and of the baseline commit in
    alternating rounds, as ``paired_rounds`` does for the ceiling: each "x times today's
    rate" is the median of per-round ratios of two runs seconds apart."""
    why = [case for case in plan if case.server == OURS and case.scenario in BASELINE_SCENARIOS]
    rows: list[dict[str, object]] = []
    if not why:
        return rows
    try:
        with running(specs, (OURS, BASELINE), work_dir) as servers:
            for case in why:
                for name in (OURS, BASELINE):
                    warm_up(servers[name], replace(case, server=name))
                    # an unrecorded run at the round's concurrency: the batch sizes it
                    # makes are what layerlens compiles explain paths for, in the background
                    drive(servers[name], replace(case, server=name), SETTLE_SECONDS)
            for index in range(rounds):
                order = (OURS, BASELINE) if index % 2 == 0 else (BASELINE, OURS)
                for case in why:
                    for name in order:
                        rows.append(round_row(servers[name], replace(case, server=name),
                                              seconds, index))  # fmt: skip
    except (ServerFailed, RuntimeError, httpx.HTTPError) as exc:
        failed = failure_row(replace(why[0], server=getattr(exc, "name", BASELINE)), exc)
        rows.append(failed | {"round": -1})
        print(report.row_line(failed), flush=True)
    return rows


def failure_row(case: Case, exc: BaseException) -> dict[str, object]:
    """A row for a case that could not run: the server did not start or stopped answering.
    The run goes on; the row says why (with the last line of the server's log)."""
    what = exc.what if isinstance(exc, ServerFailed) else f"{type(exc).__name__}: {exc}"
    last = exc.last_line if isinstance(exc, ServerFailed) else ""
    return {"scenario": case.scenario, "server": case.server, "concurrency": case.concurrency,
            "images_per_request": case.body.images, "failed": True, "error": what[:300],
            "log_last_line": last[:300]}  # fmt: skip


def run_server(
    name: str,
    spec: ServerSpec,
    mine: list[Case],
    *,
    seconds: float,
    work_dir: Path,
    extra: Callable[[RunningServer], dict[str, object]] | None = None,
) -> tuple[list[dict[str, object]], dict[str, object]]:
    """Every case of one server: rows, and the server's start-up and memory figures. A
    server that fails to start, or a case it fails, becomes failure rows, not an exception."""
    rows: list[dict[str, object]] = []
    try:
        server = start(spec, log_dir=work_dir)
    except (ServerFailed, OSError) as exc:
        print(f"{name} failed to start: {exc}", flush=True)
        rows = [failure_row(case, exc) for case in mine]
        for row in rows:
            print(report.row_line(row), flush=True)
        return rows, {"failed": True, "error": rows[0]["error"] if rows else str(exc),
                      "log_last_line": getattr(exc, "last_line", "")}  # fmt: skip
    try:
        warmed: set[str] = set()
        for case in mine:
            try:
                if case.scenario not in warmed:
                    warm_up(server, case)
                    warmed.add(case.scenario)
                row = drive(server, case, seconds)
            except (ServerFailed, RuntimeError, httpx.HTTPError) as exc:
                if not isinstance(exc, ServerFailed):
                    exc = ServerFailed(name, f"{type(exc).__name__}: {exc}", server.log_tail())
                elif not exc.last_line or server.process.poll() is not None:
                    exc = ServerFailed(name, exc.what, server.log_tail())
                row = failure_row(case, exc)
            rows.append(row)
            print(report.row_line(row), flush=True)
        info: dict[str, object] = {
            "ready_s": server.ready_s,
            "settled_s": server.settled_s,
            "memory_mb": server.memory_mb(),
            "per_worker_rss_mb": server.per_worker_rss_mb(),
            "workers": spec.workers,
        }
        if extra is not None:
            try:
                info |= extra(server)
            except httpx.HTTPError as exc:
                info["extra_error"] = f"{type(exc).__name__}: {exc}"
        return rows, info
    finally:
        server.stop()


def served_runtimes(server: RunningServer, model: str) -> dict[str, str]:
    response = httpx.get(f"{server.base_url}/v1/models/{model}", timeout=10.0)
    response.raise_for_status()
    return response.json()["runtimes"]


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    seconds = args.seconds or (3.0 if args.quick else 10.0)
    servers = {s.strip() for s in args.servers.split(",") if s.strip()}
    ensure_wrk()
    work_dir = Path(tempfile.mkdtemp(prefix="layerlens-bench-"))
    models_dir, saved_model, manifest = find_saved_model(
        args.models_dir or Settings().models_dir, work_dir
    )
    images = test_images(Settings().data_dir)
    v2_input = manifest["endpoints"]["predict"]["inputs"][0]["name"]
    plan = cases(images, v2_input=v2_input, servers=servers)
    if args.scenarios:
        prefixes = tuple(p.strip() for p in args.scenarios.split(",") if p.strip())
        plan = [case for case in plan if case.scenario.startswith(prefixes)]
    specs = server_specs(models_dir, saved_model, work_dir, workers=args.workers, servers=servers)
    if args.baseline and OURS in specs:
        # driven only in the alternating rounds below, against this checkout
        specs[BASELINE] = baseline_spec(specs[OURS], export(args.baseline, work_dir))
    results: list[dict[str, object]] = []
    server_info: dict[str, dict[str, object]] = {}
    for name, spec in specs.items():
        if name == BASELINE:
            continue
        print(f"starting {name} ...", flush=True)
        mine = [case for case in plan if case.server == name]
        on_ready = None
        if name == OURS:  # which runtime answered: the LiteRT copy or the SavedModel

            def on_ready(server: RunningServer) -> dict[str, object]:
                return {"runtimes": served_runtimes(server, manifest["name"])}

        rows, info = run_server(name, spec, mine, seconds=seconds, work_dir=work_dir,
                                extra=on_ready)  # fmt: skip
        results += rows
        if not info.get("failed") and name not in (OURS, PEER):
            info["workers"] = args.workers
        server_info[name] = info
    if args.pairs > 0 and {OURS, CEILING} <= specs.keys():
        print(f"alternating {OURS} and {CEILING}, {args.pairs} rounds ...", flush=True)
        results += paired_rounds(specs, plan, rounds=args.pairs, seconds=seconds, work_dir=work_dir)
    if args.pairs > 0 and BASELINE in specs:
        print(f"alternating {OURS} and {BASELINE} ({args.baseline}), {args.pairs} rounds ...")
        results += baseline_rounds(specs, plan, rounds=args.pairs, seconds=seconds,
                                   work_dir=work_dir)  # fmt: skip
    models = sorted(p.name for p in models_dir.iterdir() if p.is_dir())
    document = {
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "command": " ".join(
            ["python -m benchmarks.run", *(sys.argv[1:] if argv is None else argv)]
        ),
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
        },
        "settings": {
            "seconds_per_scenario": seconds,
            "workers": args.workers,
            "pairs": args.pairs,
            "models_dir": str(models_dir),
            "models": models,
        },
        "servers": server_info,
        "results": results,
    }
    document["ratios"], document["acceptance"] = report.acceptance(results, server_info)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(document, indent=2))
    print(report.table(results, server_info, document["ratios"], document["acceptance"]))
    print(f"\nwrote {args.out}")
    return 0 if all(check["ok"] for check in document["acceptance"].values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
