"""The gRPC rows of issue 14, in one run: ``python -m benchmarks.grpc_bench --models-dir DIR``.

Starts layerlens (``python -m service``, 2 workers, HTTP and gRPC) and the gRPC ceiling
(benchmarks.apps.grpc_ceiling, 2 worker processes) on loopback ports, then measures:
single-image ModelInfer (raw FP32) at 1, 8 and 32 calls in flight spread over several
channels, against the ceiling at the same points; 1,024-image batches in raw UINT8 and
FP32; and, for the ratios, REST V2 ``infer`` (one image, JSON) and the REST ``.npy`` batch
of 1,024 images with wrk, as ``make bench`` drives them. gRPC load: benchmarks.grpc_load.
MLServer's gRPC server is not in this run yet (``make bench`` runs it over REST).
Not part of the default test run.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import grpc
import numpy as np

from benchmarks import payloads
from benchmarks.grpc_load import GrpcLoad, run
from benchmarks.loadgen import LoadResult, run_wrk
from benchmarks.servers import ServerSpec, free_port, start
from core.settings import Settings
from service.grpc.protocol import messages

WORKERS = 2
SINGLE_CONCURRENCY = (1, 8, 32)
BATCH_CONCURRENCY = 4
CHANNELS = 8


def infer_request(images: np.ndarray, datatype: str) -> bytes:
    request = messages.ModelInferRequest(model_name=payloads.MODEL)
    request.inputs.add(name="x", datatype=datatype, shape=images.shape)
    dtype = "<f4" if datatype == "FP32" else "u1"
    request.raw_input_contents.append(np.ascontiguousarray(images, dtype=dtype).tobytes())
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models-dir", type=Path, default=Settings().models_dir)
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--out", type=Path, help="write the rows as JSON here")
    args = parser.parse_args(argv)
    images = payloads.test_images(Settings().data_dir)
    work = Path(tempfile.mkdtemp(prefix="grpc-bench-"))
    grpc_port, ceiling_port = free_port(), free_port()
    spec = ServerSpec(
        "layerlens",
        [sys.executable, "-m", "service"],
        "/v2/health/ready",
        env={
            "LAYERLENS_MODELS_DIR": str(args.models_dir.resolve()),
            "LAYERLENS_DATABASE_URL": f"sqlite:///{work / 'bench.db'}",
            "LAYERLENS_PORT": "{port}",
            "LAYERLENS_GRPC_PORT": str(grpc_port),
            "LAYERLENS_HOST": "127.0.0.1",
            "LAYERLENS_WORKERS": str(WORKERS),
            "LAYERLENS_LOG_LEVEL": "warning",
        },
        workers=WORKERS,
    )
    rows: list[dict] = []

    def record(scenario: str, server: str, concurrency: int, result: dict | LoadResult) -> None:
        values = result if isinstance(result, dict) else result.as_dict()
        rows.append({"scenario": scenario, "server": server, "concurrency": concurrency, **values})
        print(
            f"{scenario:24} {server:12} c={concurrency:<3} {values['requests_per_s']:>9.0f} "
            f"req/s {values['images_per_s']:>10.0f} img/s p50 {values['p50_ms']:.1f} ms "
            f"p99 {values['p99_ms']:.1f} ms errors {values['errors']}",
            flush=True,
        )

    ours = start(spec, log_dir=work)
    target = f"127.0.0.1:{grpc_port}"
    try:
        wait_grpc_ready(target)
        one = infer_request(images[:1], "FP32")
        for c in SINGLE_CONCURRENCY:
            record("grpc-infer-1", "layerlens", c, grpc_row(target, one, 1, c, args.seconds))
        for datatype in ("UINT8", "FP32"):
            batch = infer_request(images[:1024], datatype)
            result = grpc_row(target, batch, 1024, BATCH_CONCURRENCY, args.seconds)
            record(f"grpc-infer-1024-{datatype.lower()}", "layerlens", BATCH_CONCURRENCY, result)
        url = f"http://127.0.0.1:{ours.port}"
        v2 = run_wrk(f"{url}/v2/models/{payloads.MODEL}/infer", payloads.v2_infer(images[0]),
                     connections=32, seconds=args.seconds)  # fmt: skip
        record("rest-v2-infer-1", "layerlens", 32, v2)
        npy = run_wrk(f"{url}/v1/models/{payloads.MODEL}:predict",
                      payloads.predict_npy(images[:1024]), connections=BATCH_CONCURRENCY,
                      seconds=args.seconds)  # fmt: skip
        record("rest-npy-1024", "layerlens", BATCH_CONCURRENCY, npy)
    finally:
        ours.stop()
    ceiling = subprocess.Popen(
        [sys.executable, "-m", "benchmarks.apps.grpc_ceiling", str(ceiling_port), str(WORKERS)],
        start_new_session=True,
    )
    try:
        wait_grpc_ready(f"127.0.0.1:{ceiling_port}")
        for c in SINGLE_CONCURRENCY:
            result = grpc_row(f"127.0.0.1:{ceiling_port}", one, 1, c, args.seconds)
            record("grpc-infer-1", "grpc-ceiling", c, result)
    finally:
        os.killpg(ceiling.pid, signal.SIGTERM)
        ceiling.wait(timeout=20)

    by = {(r["scenario"], r["server"], r["concurrency"]): r for r in rows}
    ours32 = by[("grpc-infer-1", "layerlens", 32)]["requests_per_s"]
    ceiling32 = by[("grpc-infer-1", "grpc-ceiling", 32)]["requests_per_s"]
    rest32 = by[("rest-v2-infer-1", "layerlens", 32)]["requests_per_s"]
    uint8 = by[("grpc-infer-1024-uint8", "layerlens", BATCH_CONCURRENCY)]["images_per_s"]
    npy_images = by[("rest-npy-1024", "layerlens", BATCH_CONCURRENCY)]["images_per_s"]
    ratios = {
        "grpc_vs_ceiling_at_32": ours32 / ceiling32,
        "grpc_vs_rest_v2_at_32": ours32 / rest32,
        "uint8_1024_vs_rest_npy": uint8 / npy_images,
    }
    print(json.dumps(ratios, indent=2))
    if args.out:
        args.out.write_text(json.dumps({"rows": rows, "ratios": ratios}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
