"""The gRPC rows of issue 14, in one run: ``python -m benchmarks.grpc_bench --models-dir DIR``.

Starts layerlens (``python -m service``, 2 workers, HTTP and gRPC) and the gRPC ceiling
(benchmarks.apps.grpc_ceiling, 2 worker processes) on loopback ports, then measures:
single-image ModelInfer (raw FP32) at 1, 8 and 32 calls in flight spread over several
channels, against the ceiling at the same points; 1,024-image batches in raw UINT8 and
FP32; and, for the ratios, REST V2 ``infer`` (one image, JSON) and the REST ``.npy`` batch
of 1,024 images with wrk, as ``make bench`` drives them. gRPC load: benchmarks.grpc_load.
The ceiling ratio comes from ``--pairs`` alternating rounds at 32 in flight with both
servers up (as ``make bench`` does over HTTP), since throughput here drifts within minutes.
Then MLServer 1.7 (benchmarks/peer, its own venv, adaptive batching as in ``make bench``)
on the same SavedModel, over gRPC: single images at the same points, sent as typed
``fp32_contents`` (the form every KServe v2 server decodes), with layerlens measured on the
same typed request at 32 for the ratio.
Not part of the default test run.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import grpc
import numpy as np

from benchmarks import payloads
from benchmarks.grpc_load import GrpcLoad, run
from benchmarks.loadgen import LoadResult, run_wrk
from benchmarks.models import find_saved_model
from benchmarks.peer.setup import PEER_MAX_BATCH_TIME_MS, mlserver_spec
from benchmarks.servers import ServerSpec, free_port, start
from core.settings import Settings
from service.grpc.protocol import messages

WORKERS = 2
SINGLE_CONCURRENCY = (1, 8, 32)
BATCH_CONCURRENCY = 4
CHANNELS = 8


def infer_request(images: np.ndarray, datatype: str, *, raw: bool = True) -> bytes:
    request = messages.ModelInferRequest(model_name=payloads.MODEL)
    tensor = request.inputs.add(name="x", datatype=datatype, shape=images.shape)
    if raw:
        dtype = "<f4" if datatype == "FP32" else "u1"
        request.raw_input_contents.append(np.ascontiguousarray(images, dtype=dtype).tobytes())
    elif datatype == "FP32":
        tensor.contents.fp32_contents.extend(images.astype(np.float32).ravel().tolist())
    else:
        tensor.contents.uint_contents.extend(images.astype(np.uint32).ravel().tolist())
    request.outputs.add(name="probabilities")
    return request.SerializeToString()


def wait_grpc_ready(target: str, timeout_s: float = 180.0) -> None:
    ready = messages.ServerReadyRequest().SerializeToString()
    deadline = time.monotonic() + timeout_s
    with grpc.insecure_channel(target) as channel:
        call = channel.unary_unary("/inference.GRPCInferenceService/ServerReady")
        while time.monotonic() < deadline:
            try:
                if messages.ServerReadyResponse.FromString(call(ready, timeout=2)).ready:
                    return
            except grpc.RpcError:
                pass
            time.sleep(0.2)
    raise TimeoutError(f"no gRPC server ready at {target}")


def grpc_row(target: str, request: bytes, images: int, concurrency: int, seconds: float) -> dict:
    load = GrpcLoad(
        target, request, images, concurrency, channels=min(CHANNELS, max(2, concurrency)),
        processes=1 if concurrency < 8 else 2, seconds=seconds,
    )  # fmt: skip
    return run(load).as_dict()


@dataclass
class Rows:
    rows: list[dict] = field(default_factory=list)

    def record(
        self, scenario: str, server: str, concurrency: int, result: dict | LoadResult
    ) -> None:
        values = result if isinstance(result, dict) else result.as_dict()
        self.rows.append(
            {"scenario": scenario, "server": server, "concurrency": concurrency, **values}
        )
        print(
            f"{scenario:24} {server:12} c={concurrency:<3} {values['requests_per_s']:>9.0f} "
            f"req/s {values['images_per_s']:>10.0f} img/s p50 {values['p50_ms']:.1f} ms "
            f"p99 {values['p99_ms']:.1f} ms errors {values['errors']}",
            flush=True,
        )

    def get(self, scenario: str, server: str, concurrency: int) -> dict | None:
        return next(
            (
                r
                for r in reversed(self.rows)
                if (r["scenario"], r["server"], r["concurrency"]) == (scenario, server, concurrency)
            ),
            None,
        )


def layerlens_spec(models_dir: Path, work: Path, grpc_port: int) -> ServerSpec:
    return ServerSpec(
        "layerlens",
        [sys.executable, "-m", "service"],
        "/v2/health/ready",
        env={
            "LAYERLENS_MODELS_DIR": str(models_dir.resolve()),
            "LAYERLENS_DATABASE_URL": f"sqlite:///{work / 'bench.db'}",
            "LAYERLENS_PORT": "{port}",
            "LAYERLENS_GRPC_PORT": str(grpc_port),
            "LAYERLENS_HOST": "127.0.0.1",
            "LAYERLENS_WORKERS": str(WORKERS),
            "LAYERLENS_LOG_LEVEL": "warning",
        },
        workers=WORKERS,
    )


@contextlib.contextmanager
def grpc_ceiling(port: int) -> Iterator[str]:
    ceiling = subprocess.Popen(
        [sys.executable, "-m", "benchmarks.apps.grpc_ceiling", str(port), str(WORKERS)],
        start_new_session=True,
    )
    try:
        wait_grpc_ready(f"127.0.0.1:{port}")
        yield f"127.0.0.1:{port}"
    finally:
        os.killpg(ceiling.pid, signal.SIGTERM)
        ceiling.wait(timeout=20)


def layerlens_rows(out: Rows, url: str, target: str, images: np.ndarray, seconds: float) -> None:
    one = infer_request(images[:1], "FP32")
    for c in SINGLE_CONCURRENCY:
        out.record("grpc-infer-1", "layerlens", c, grpc_row(target, one, 1, c, seconds))
    typed = infer_request(images[:1], "FP32", raw=False)
    out.record("grpc-infer-1-typed", "layerlens", 32, grpc_row(target, typed, 1, 32, seconds))
    for datatype in ("UINT8", "FP32"):
        batch = infer_request(images[:1024], datatype)
        result = grpc_row(target, batch, 1024, BATCH_CONCURRENCY, seconds)
        out.record(f"grpc-infer-1024-{datatype.lower()}", "layerlens", BATCH_CONCURRENCY, result)
    v2 = run_wrk(f"{url}/v2/models/{payloads.MODEL}/infer", payloads.v2_infer(images[0]),
                 connections=32, seconds=seconds)  # fmt: skip
    out.record("rest-v2-infer-1", "layerlens", 32, v2)
    npy = run_wrk(f"{url}/v1/models/{payloads.MODEL}:predict",
                  payloads.predict_npy(images[:1024]), connections=BATCH_CONCURRENCY,
                  seconds=seconds)  # fmt: skip
    out.record("rest-npy-1024", "layerlens", BATCH_CONCURRENCY, npy)


def ceiling_rounds(
    out: Rows, target: str, ceiling: str, images: np.ndarray, seconds: float, pairs: int
) -> list[float]:
    """Alternating rounds at 32 in flight, both servers up: the machine's drift hits both."""
    one = infer_request(images[:1], "FP32")
    for c in SINGLE_CONCURRENCY:
        out.record("grpc-infer-1", "grpc-ceiling", c, grpc_row(ceiling, one, 1, c, seconds))
    ratios = []
    for _ in range(pairs):
        ours = grpc_row(target, one, 1, 32, seconds)
        theirs = grpc_row(ceiling, one, 1, 32, seconds)
        out.record("grpc-infer-1-round", "layerlens", 32, ours)
        out.record("grpc-infer-1-round", "grpc-ceiling", 32, theirs)
        ratios.append(ours["requests_per_s"] / theirs["requests_per_s"])
    return ratios


def mlserver_rows(
    out: Rows, models_dir: Path, work: Path, images: np.ndarray, seconds: float
) -> None:
    port = free_port()
    spec = mlserver_spec(
        find_saved_model(models_dir, work)[1],
        work,
        workers=WORKERS,
        max_batch_size=Settings().batch_max_size,
        max_wait_ms=PEER_MAX_BATCH_TIME_MS,
        grpc_port=port,
    )
    peer = start(spec, log_dir=work)
    try:
        wait_grpc_ready(f"127.0.0.1:{port}")
        typed = infer_request(images[:1], "FP32", raw=False)
        for c in SINGLE_CONCURRENCY:
            result = grpc_row(f"127.0.0.1:{port}", typed, 1, c, seconds)
            out.record("grpc-infer-1-typed", "mlserver", c, result)
    finally:
        peer.stop()


def ratios_of(out: Rows, rounds: list[float]) -> dict[str, float]:
    def rate(scenario: str, server: str, concurrency: int, key: str = "requests_per_s") -> float:
        row = out.get(scenario, server, concurrency)
        return float("nan") if row is None else float(row[key])

    ours32 = rate("grpc-infer-1", "layerlens", 32)
    ratios = {
        "grpc_vs_ceiling_at_32": ours32 / rate("grpc-infer-1", "grpc-ceiling", 32),
        "grpc_vs_rest_v2_at_32": ours32 / rate("rest-v2-infer-1", "layerlens", 32),
        "uint8_1024_vs_rest_npy": rate("grpc-infer-1024-uint8", "layerlens", 4, "images_per_s")
        / rate("rest-npy-1024", "layerlens", 4, "images_per_s"),
        "grpc_typed_vs_mlserver_grpc_at_32": rate("grpc-infer-1-typed", "layerlens", 32)
        / rate("grpc-infer-1-typed", "mlserver", 32),
    }
    if rounds:
        ratios["grpc_vs_ceiling_rounds_median"] = statistics.median(rounds)
    return ratios


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models-dir", type=Path, default=Settings().models_dir)
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--pairs", type=int, default=3, help="alternating rounds vs the ceiling")
    parser.add_argument("--out", type=Path, help="write the rows as JSON here")
    parser.add_argument("--skip-mlserver", action="store_true", help="no MLServer rows")
    args = parser.parse_args(argv)
    images = payloads.test_images(Settings().data_dir)
    work = Path(tempfile.mkdtemp(prefix="grpc-bench-"))
    out = Rows()
    grpc_port = free_port()
    ours = start(layerlens_spec(args.models_dir, work, grpc_port), log_dir=work)
    target = f"127.0.0.1:{grpc_port}"
    try:
        wait_grpc_ready(target)
        layerlens_rows(out, f"http://127.0.0.1:{ours.port}", target, images, args.seconds)
        with grpc_ceiling(free_port()) as ceiling:
            rounds = ceiling_rounds(out, target, ceiling, images, args.seconds, args.pairs)
    finally:
        ours.stop()
    if not args.skip_mlserver:
        mlserver_rows(out, args.models_dir, work, images, args.seconds)
    ratios = ratios_of(out, rounds)
    print(json.dumps({**ratios, "rounds": rounds}, indent=2))
    if args.out:
        args.out.write_text(
            json.dumps({"rows": out.rows, "ratios": ratios, "rounds": rounds}, indent=2)
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
