"""One command: start each server on a loopback port, load it with wrk, print + save results.

    python -m benchmarks.run [--quick] [--out benchmarks/results/latest.json]

Servers run one after another (never side by side: they would share the two cores):
layerlens (``python -m service``), the HTTP ceiling and the naive Keras service
(benchmarks/apps, uvicorn with the same workers), and Seldon MLServer with adaptive
batching (benchmarks/peer, in its own venv). See benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import httpx

from benchmarks import report
from benchmarks.loadgen import ensure_wrk, run_wrk
from benchmarks.models import find_saved_model
from benchmarks.payloads import test_images
from benchmarks.peer.setup import mlserver_spec
from benchmarks.scenarios import CEILING, NAIVE, OURS, PEER, Case, cases
from benchmarks.servers import RunningServer, ServerSpec, start
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
        "--servers",
        default=",".join((OURS, CEILING, NAIVE, PEER)),
        help="comma-separated subset of: layerlens, ceiling, naive, mlserver",
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
        NAIVE: ServerSpec(
            NAIVE,
            [*uvicorn, "benchmarks.apps.naive:create_app"],
            "/ready",
            env={"BENCH_SAVED_MODEL": str(saved_model.resolve())},
        ),
    }
    if PEER in servers:
        specs[PEER] = mlserver_spec(
            saved_model,
            work_dir,
            workers=workers,
            max_batch_size=settings.batch_max_size,
            max_wait_ms=settings.batch_max_wait_ms,
        )
    return {name: spec for name, spec in specs.items() if name in servers}


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
                raise RuntimeError(
                    f"{case.server} {case.scenario}: HTTP {answer.status_code}: {answer.text[:300]}"
                )


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
    specs = server_specs(models_dir, saved_model, work_dir, workers=args.workers, servers=servers)
    results: list[dict[str, object]] = []
    server_info: dict[str, dict[str, object]] = {}
    for name, spec in specs.items():
        print(f"starting {name} ...", flush=True)
        server = start(spec, log_dir=work_dir)
        try:
            mine = [case for case in plan if case.server == name]
            for case in {c.scenario: c for c in mine}.values():
                warm_up(server, case)
            for case in mine:
                load = run_wrk(server.base_url + case.path, case.body,
                               connections=case.concurrency, seconds=seconds)  # fmt: skip
                row = {"scenario": case.scenario, "server": name, "concurrency": case.concurrency,
                       "images_per_request": case.body.images, **load.as_dict()}  # fmt: skip
                results.append(row)
                print(report.row_line(row), flush=True)
            server_info[name] = {
                "ready_s": server.ready_s,
                "settled_s": server.settled_s,
                "memory_mb": server.memory_mb(),
                "per_worker_rss_mb": server.per_worker_rss_mb(),
                "workers": spec.workers if name in (OURS, PEER) else args.workers,
            }
        finally:
            server.stop()
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
