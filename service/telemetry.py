"""Prometheus metrics. Each app has its own registry, so several apps (tests) never clash.

With several uvicorn workers every worker keeps its own counters: a scrape of
``/metrics`` sees the worker that answered it (the README says so).
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

__all__ = ["CONTENT_TYPE_LATEST", "Telemetry"]

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 4096)


class Telemetry:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "layerlens_requests",
            "HTTP requests by route template, model and status.",
            ["method", "route", "model", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "layerlens_request_duration_seconds",
            "Time from request start to the end of the response.",
            ["route", "model"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.batch_size = Histogram(
            "layerlens_batch_size",
            "Instances per SavedModel call (after dynamic batching).",
            ["model"],
            buckets=BATCH_BUCKETS,
            registry=self.registry,
        )
        self.requests_shed = Counter(
            "layerlens_requests_shed",
            "Requests refused with 503 before their body was read, by reason.",
            ["reason"],
            registry=self.registry,
        )
        #: Labelled children by label values: ``labels()`` costs more than the update itself.
        self._request_series: dict[tuple[str, str, str, int], tuple[Counter, Histogram]] = {}
        self.models_loaded = Gauge(
            "layerlens_models_loaded",
            "Model versions currently loaded.",
            registry=self.registry,
        )
        self.models_not_serving = Gauge(
            "layerlens_model_versions_not_serving",
            "Versions in MODELS_DIR that failed to load, plus pinned defaults not loaded "
            "(each answers its own 503; readiness only counts the defaults among them).",
            registry=self.registry,
        )
        self.models_stale = Gauge(
            "layerlens_model_versions_stale",
            "Loaded versions whose files changed on disk and no longer load: they serve "
            "from memory, and a restart would lose them.",
            registry=self.registry,
        )

    def observe_request(
        self, method: str, route: str, model: str, status: int, seconds: float
    ) -> None:
        key = (method, route, model, status)
        series = self._request_series.get(key)
        if series is None:
            series = (
                self.requests.labels(method, route, model, str(status)),
                self.latency.labels(route, model),
            )
            self._request_series[key] = series
        series[0].inc()
        series[1].observe(seconds)

    def observe_batch(self, model: str, size: int) -> None:
        self.batch_size.labels(model).observe(size)

    def render(self) -> bytes:
        return generate_latest(self.registry)
