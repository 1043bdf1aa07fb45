"""A multi-process gRPC load generator on grpc.aio (Triton's perf_analyzer is not used: it
ships only as a compiled binary inside Triton's SDK images, and this machine reaches PyPI
alone).

Each process opens its own channels (``grpc.use_local_subchannel_pool``, so every channel
is its own TCP connection and the server's workers each get a share) and keeps its share of
the calls in flight in a closed loop: a call is sent as soon as the previous one on that
slot returned. Requests are serialized once up front and answers are not parsed, so the
client costs the same against every server. Latencies come back to the parent, which
reports throughput and percentiles in ``benchmarks.loadgen.LoadResult``'s shape.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import time
from dataclasses import dataclass

import grpc
import numpy as np

from benchmarks.loadgen import LoadResult

METHOD = "/inference.GRPCInferenceService/ModelInfer"


@dataclass(frozen=True)
class GrpcLoad:
    target: str
    request: bytes  # a serialized ModelInferRequest
    images_per_request: int
    concurrency: int
    channels: int
    processes: int
    seconds: float
    warmup_s: float = 1.0


def _identity(data: bytes) -> bytes:
    return data


async def _drive(load: GrpcLoad, slots: int, channels: int, out: multiprocessing.Queue) -> None:
    options = [("grpc.use_local_subchannel_pool", 1), ("grpc.max_receive_message_length", -1)]
    opened = [grpc.aio.insecure_channel(load.target, options=options) for _ in range(channels)]
    calls = [
        c.unary_unary(METHOD, request_serializer=_identity, response_deserializer=_identity)
        for c in opened
    ]
    latencies: list[float] = []
    errors = 0
    start = time.perf_counter()
    measure_from = start + load.warmup_s
    stop_at = measure_from + load.seconds

    async def slot(index: int) -> None:
        nonlocal errors
        call = calls[index % len(calls)]
        while (now := time.perf_counter()) < stop_at:
            try:
                await call(load.request, timeout=30)
            except grpc.aio.AioRpcError:
                errors += 1
                continue
            if now >= measure_from:
                latencies.append(time.perf_counter() - now)

    await asyncio.gather(*(slot(i) for i in range(slots)))
    for channel in opened:
        await channel.close()
    out.put((latencies, errors))


def _process(load: GrpcLoad, slots: int, channels: int, out: multiprocessing.Queue) -> None:
    asyncio.run(_drive(load, slots, channels, out))


def _split(total: int, parts: int) -> list[int]:
    return [total // parts + (1 if i < total % parts else 0) for i in range(parts)]


def run(load: GrpcLoad) -> LoadResult:
    """Drive ``load`` and summarise what the measured window saw."""
    processes = min(load.processes, load.concurrency)
    queue: multiprocessing.Queue = multiprocessing.Queue()
    workers = [
        multiprocessing.Process(target=_process, args=(load, slots, max(1, chans), queue))
        for slots, chans in zip(
            _split(load.concurrency, processes), _split(load.channels, processes), strict=True
        )
    ]
    for worker in workers:
        worker.start()
    results = [queue.get(timeout=load.warmup_s + load.seconds + 120) for _ in workers]
    for worker in workers:
        worker.join()
    latencies = np.array([x for part, _errors in results for x in part]) * 1000
    errors = sum(e for _part, e in results)
    requests = len(latencies)
    p50, p90, p99 = np.percentile(latencies, [50, 90, 99]) if requests else (0.0, 0.0, 0.0)
    return LoadResult(
        requests=requests,
        seconds=load.seconds,
        requests_per_s=requests / load.seconds,
        images_per_s=requests * load.images_per_request / load.seconds,
        p50_ms=float(p50),
        p90_ms=float(p90),
        p99_ms=float(p99),
        max_ms=float(latencies.max()) if requests else 0.0,
        errors=errors,
    )
