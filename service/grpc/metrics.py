"""Prometheus series of the gRPC front door, in the app's own registry (service.telemetry),
so ``/metrics`` shows them beside the HTTP ones."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

from service.telemetry import LATENCY_BUCKETS, Telemetry


class GrpcMetrics:
    def __init__(self, telemetry: Telemetry) -> None:
        self.calls = Counter(
            "layerlens_grpc_requests",
            "gRPC calls by method, model and status code.",
            ["rpc", "model", "code"],
            registry=telemetry.registry,
        )
        self.latency = Histogram(
            "layerlens_grpc_request_duration_seconds",
            "Time from a gRPC call's arrival to its answer.",
            ["rpc", "model"],
            buckets=LATENCY_BUCKETS,
            registry=telemetry.registry,
        )
        self._series: dict[tuple[str, str, str], tuple[Counter, Histogram]] = {}

    def observe(self, rpc: str, model: str, code: str, seconds: float) -> None:
        key = (rpc, model, code)
        series = self._series.get(key)
        if series is None:
            series = (self.calls.labels(rpc, model, code), self.latency.labels(rpc, model))
            self._series[key] = series
        series[0].inc()
        series[1].observe(seconds)
