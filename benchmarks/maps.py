"""Placing one input on a t-SNE map: latency of ``:project?method=tsne`` on a live server.

    python -m benchmarks.maps [--models-dir DIR] [--model digits] [--requests 300]
        [--method tsne] [--out benchmarks/results/maps.json]

Starts the service (``python -m service``, one worker) on a free loopback port, then sends
``--requests`` single-image ``:project`` requests one after another (each a different MNIST
test image, inline JSON, as the page sends its current input) and reports the median, p95
and p99 of the client-side wall time. The issue's budget: p95 <= 20 ms. A PCA row beside it
says what the placement among the map's examples adds to running the layer.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx
import numpy as np

from core import datasets
from core.manifest import Manifest, version_dir, versions_on_disk

BUDGET_P95_MS = 20.0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _percentile(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q))


def run(client: httpx.Client, model: str, method: str, images: np.ndarray) -> dict[str, float]:
    url = f"/v1/models/{model}:project?method={method}"
    for image in images[:20]:  # warm-up: first use maps the files and fits PCA
        client.post(url, json={"instances": [image.tolist()]}).raise_for_status()
    times = []
    for image in images:
        body = {"instances": [image.tolist()]}
        started = time.perf_counter()
        response = client.post(url, json=body)
        times.append((time.perf_counter() - started) * 1000)
        response.raise_for_status()
    return {
        "requests": len(times),
        "median_ms": statistics.median(times),
        "p95_ms": _percentile(times, 95),
        "p99_ms": _percentile(times, 99),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--models-dir", type=Path, default=Path("models"))
    parser.add_argument("--data-dir", type=Path, default=Path("data"))
    parser.add_argument("--model", default="digits")
    parser.add_argument("--method", default="tsne")
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/maps.json"))
    args = parser.parse_args()
    latest = versions_on_disk(args.models_dir)[args.model][-1]
    manifest = Manifest.read(version_dir(args.models_dir, args.model, latest))
    test = datasets.load_split(manifest.dataset.name, "test", args.data_dir)
    images = np.asarray(test.x[: args.requests], dtype=np.float32)
    port = _free_port()
    env = {
        **os.environ,
        "LAYERLENS_MODELS_DIR": str(args.models_dir),
        "LAYERLENS_DATA_DIR": str(args.data_dir),
        "LAYERLENS_PORT": str(port),
        "LAYERLENS_HOST": "127.0.0.1",
        "LAYERLENS_WORKERS": "1",
        "LAYERLENS_GRPC_PORT": "0",
        "LAYERLENS_LOG_LEVEL": "warning",
    }
    server = subprocess.Popen([sys.executable, "-m", "service"], env=env)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60) as client:
            for _ in range(600):
                try:
                    if client.get("/v2/health/ready").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                time.sleep(0.5)
            rows = {m: run(client, args.model, m, images) for m in (args.method, "pca")}
    finally:
        server.terminate()
        server.wait(timeout=30)
    result = {
        "model": args.model,
        "version": latest,
        "rows": rows,
        "budget_p95_ms": BUDGET_P95_MS,
        "passes": rows[args.method]["p95_ms"] <= BUDGET_P95_MS,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    for method, row in rows.items():
        print(f"{method}: median {row['median_ms']:.1f} ms, p95 {row['p95_ms']:.1f} ms, "
              f"p99 {row['p99_ms']:.1f} ms over {row['requests']} requests")  # fmt: skip
    sys.exit(0 if result["passes"] else 1)


if __name__ == "__main__":
    main()
