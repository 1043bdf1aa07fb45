"""Memory of one replica by worker count and model set: the capacity plan's memory column.

Starts ``python -m service`` over a subset of a model repository with 1, 2 (or more)
workers, waits until every worker has loaded every model, then touches everything a
worker keeps for later (each model's gradient functions through ``:explain``, each image
model's neighbour indexes through ``:neighbors``, each dataset's pixels), and reads each
process's proportional set size (PSS: shared pages split between the processes that map
them, so the sum is what the pod's memory cgroup is charged, page cache of the
memory-mapped indexes aside) and resident set size from /proc. Prints a table, writes JSON.

    python -m benchmarks.replica_memory --models-dir /tmp/full/models \\
        --sets digits:digits all --workers 1 2
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

import httpx

from benchmarks.servers import ServerSpec, _descendants, start

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "replica_memory.json"


@dataclass
class Row:
    models: str
    model_count: int
    workers: int
    ready_s: float
    pss_mb_total: float  # every process of the replica: supervisor and workers
    rss_mb_per_worker: float  # the largest worker
    pss_mb_per_worker: float  # the largest worker


def _kb(pid: int, field: str, source: str) -> int:
    for line in Path(f"/proc/{pid}/{source}").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def _subset(models_dir: Path, names: list[str] | None, into: Path) -> list[str]:
    chosen = sorted(p.name for p in models_dir.iterdir() if (p / "1").is_dir() or p.is_dir())
    if names is not None:
        missing = set(names) - set(chosen)
        if missing:
            raise SystemExit(f"not in {models_dir}: {sorted(missing)}")
        chosen = names
    for name in chosen:
        (into / name).symlink_to(models_dir / name)
    return chosen


def _index_datasets(models_dir: Path, model: str) -> list[str]:
    """The dataset splits the newest version has neighbour indexes of (its manifest)."""
    versions = sorted((models_dir / model).iterdir(), key=lambda p: int(p.name))
    manifest = json.loads((versions[-1] / "manifest.json").read_text())
    return [index["dataset"] for index in manifest.get("neighbor_indexes", [])]


def _touch_everything(url: str, models_dir: Path, models: list[str]) -> None:
    """What a worker keeps after first use: traced gradients, mapped indexes, pixels."""
    with httpx.Client(base_url=url, timeout=120.0) as client:
        for model in models:
            splits = _index_datasets(models_dir, model)
            if not splits:
                continue
            test = next(s for s in splits if s.endswith("-test"))
            body = {"examples": [{"dataset": test, "index": 0}]}
            # Several calls each, so that every worker has traced and mapped them.
            for _ in range(6):
                client.post(f"/v1/models/{model}:explain", json=body).raise_for_status()
                for split in splits:
                    for space in ("embedding", "pixel"):
                        client.post(
                            f"/v1/models/{model}:neighbors",
                            params={"dataset": split, "k": 8, "space": space},
                            json=body,
                        ).raise_for_status()


def measure(
    models_dir: Path, data_dir: Path, label: str, names: list[str] | None, workers: int
) -> Row:
    with tempfile.TemporaryDirectory(prefix="replica-memory-") as tmp:
        subset = Path(tmp) / "models"
        subset.mkdir()
        models = _subset(models_dir, names, subset)
        spec = ServerSpec(
            name=f"layerlens-{label}-{workers}w",
            command=[sys.executable, "-m", "service"],
            ready_path="/v2/health/ready",
            env={
                "LAYERLENS_MODELS_DIR": str(subset),
                "LAYERLENS_DATABASE_URL": f"sqlite:///{tmp}/metrics.db",
                "LAYERLENS_PORT": "{port}",
                "LAYERLENS_GRPC_PORT": "0",
                "LAYERLENS_WORKERS": str(workers),
                "LAYERLENS_DATA_DIR": str(data_dir),
            },
            workers=workers,
            ready_timeout_s=300.0,
            cwd=ROOT,
        )
        server = start(spec)
        try:
            _touch_everything(server.base_url, subset, models)
            processes = [server.process.pid, *_descendants(server.process.pid)]
            processes = [p for p in processes if Path(f"/proc/{p}").exists()]
            pss = {p: _kb(p, "Pss", "smaps_rollup") / 1024 for p in processes}
            rss = {p: _kb(p, "VmRSS", "status") / 1024 for p in processes}
            worker_pids = [p for p in processes if p != server.process.pid]
            # One worker: uvicorn runs it in the main process.
            measured = worker_pids or [server.process.pid]
            return Row(
                models=label,
                model_count=len(models),
                workers=workers,
                ready_s=server.ready_s,
                pss_mb_total=round(sum(pss.values()), 1),
                rss_mb_per_worker=round(max(rss[p] for p in measured), 1),
                pss_mb_per_worker=round(max(pss[p] for p in measured), 1),
            )
        finally:
            server.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--models-dir", type=Path, required=True)
    parser.add_argument(
        "--sets",
        nargs="+",
        default=["all"],
        help="LABEL:model,model,... or 'all' (every model in --models-dir)",
    )
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--data-dir", type=Path, default=ROOT / "data")
    parser.add_argument("--json", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    rows = []
    for each in args.sets:
        label, _, names = each.partition(":")
        for workers in args.workers:
            row = measure(
                args.models_dir, args.data_dir, label, names.split(",") if names else None, workers
            )
            rows.append(row)
            print(
                f"{row.models:>10} ({row.model_count} models) {row.workers} worker(s): "
                f"replica PSS {row.pss_mb_total:,.0f} MB, per worker RSS "
                f"{row.rss_mb_per_worker:,.0f} / PSS {row.pss_mb_per_worker:,.0f} MB, "
                f"ready {row.ready_s} s",
                flush=True,
            )
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps([asdict(r) for r in rows], indent=2) + "\n")
    print(f"wrote {args.json.relative_to(ROOT) if args.json.is_relative_to(ROOT) else args.json}")
    return 0


if __name__ == "__main__":
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    raise SystemExit(main())
