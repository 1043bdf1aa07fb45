"""Prometheus metrics. Each app has its own registry, so several apps (tests) never clash.

With several workers (``python -m service``), whichever worker answers a scrape must report
them all. prometheus-client's multiprocess mode does that: the supervisor gives the workers
a fresh folder (``PROMETHEUS_MULTIPROC_DIR``, ``Settings.prometheus_multiproc_dir``) before
they start, each worker's values live in memory-mapped files there, and a scrape merges
every file: counters and histograms add up (a dead worker's counts stay, so totals never
go back), the two gauges take the largest value among live workers (``livemax``: every
worker loads the same repository, so a sum would count each version once per worker), and
the supervisor drops a dead worker's gauges (``mark_process_dead``). A folder that is full
or unwritable degrades the metrics, never the worker (service.metric_files).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client import values as prometheus_values
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.multiprocess import MultiProcessCollector

from service import metric_files

__all__ = ["CONTENT_TYPE_LATEST", "Telemetry"]

logger = logging.getLogger("layerlens.metrics")

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 4096)


class _ProcessId:
    """``os.getpid`` read once per process (and again in a forked child).

    In multiprocess mode every update of a value first asks for the process id, to notice
    a fork; that is a system call per update, about five per gRPC call (profiled). The id
    only changes across a fork, so it is cached and refreshed there.
    """

    def __init__(self) -> None:
        self.pid = os.getpid()
        os.register_at_fork(after_in_child=self._refresh)

    def _refresh(self) -> None:
        self.pid = os.getpid()

    def __call__(self) -> int:
        return self.pid


if getattr(prometheus_values.ValueClass, "_multiprocess", False):
    # Metrics built from here on use it; none is built at import (each app has its own).
    # A full or unwritable folder must not kill the worker (service.metric_files).
    metric_files.install()
    prometheus_values.ValueClass = metric_files.resilient(
        prometheus_values.MultiProcessValue(process_identifier=_ProcessId())
    )


class Telemetry:
    def __init__(self, *, multiprocess_dir: Path | None = None) -> None:
        """``multiprocess_dir``: the workers' shared folder (the values then live there,
        because prometheus-client read ``PROMETHEUS_MULTIPROC_DIR`` at import)."""
        self._multiprocess_dir = multiprocess_dir
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
        self.batch_size = self._batch_sizes(
            "layerlens_batch_size", "Instances per SavedModel call (after dynamic batching)."
        )
        self.search_batch_size = self._batch_sizes(
            "layerlens_neighbor_search_batch_size",
            "Queries per nearest-neighbour search (concurrent :neighbors requests batched).",
        )
        self.explain_batch_size = self._batch_sizes(
            "layerlens_explain_path_batch_size",
            "Inputs per integrated-gradients computation (concurrent :explain requests' "
            "paths batched).",
        )
        self.requests_shed = Counter(
            "layerlens_requests_shed",
            "Requests refused with 503 before their body was read, by reason.",
            ["reason"],
            registry=self.registry,
        )
        self.requests_in_flight = Gauge(
            "layerlens_requests_in_flight",
            "Requests admitted and not yet answered (probes and scrapes not counted), "
            "summed over the live workers: the autoscaler's per-pod load signal.",
            multiprocess_mode="livesum",
            registry=self.registry,
        )
        #: Labelled children by label values: ``labels()`` costs more than the update itself.
        self._request_series: dict[tuple[str, str, str, int], tuple[Counter, Histogram]] = {}
        self._batch_series: dict[str, Histogram] = {}
        self.models_loaded = self._version_count(
            "layerlens_models_loaded",
            "Model versions currently loaded (the most of any live worker).",
        )
        self.models_not_serving = self._version_count(
            "layerlens_model_versions_not_serving",
            "Versions in MODELS_DIR that failed to load, plus pinned defaults not loaded "
            "(each answers its own 503; readiness only counts the defaults among them; the "
            "most of any live worker).",
        )
        self.models_stale = self._version_count(
            "layerlens_model_versions_stale",
            "Loaded versions whose files changed on disk and no longer load: they serve "
            "from memory, and a restart would lose them.",
        )

    def _batch_sizes(self, name: str, documentation: str) -> Histogram:
        """Items per call of one of the batchers, by model: the same buckets for each."""
        return Histogram(
            name, documentation, ["model"], buckets=BATCH_BUCKETS, registry=self.registry
        )

    def _version_count(self, name: str, documentation: str) -> Gauge:
        """A count of model versions: every worker loads the same repository, so the most of
        any live worker (a sum would count each version once per worker)."""
        return Gauge(
            name,
            documentation,
            multiprocess_mode="livemax",
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
        series = self._batch_series.get(model)
        if series is None:
            series = self._batch_series[model] = self.batch_size.labels(model)
        series.observe(size)

    def render(self) -> bytes:
        if self._multiprocess_dir is None:
            return generate_latest(self.registry)
        unshared = CollectorRegistry()
        unshared.register(metric_files.UnsharedCollector())
        merged = CollectorRegistry()
        try:
            MultiProcessCollector(merged, path=str(self._multiprocess_dir))
        except ValueError:  # the folder is gone: this worker's own values, rather than a 500
            logger.warning(
                "the metrics folder %s is gone: /metrics reports the answering worker only",
                self._multiprocess_dir,
            )
            return generate_latest(self.registry) + generate_latest(unshared)
        return generate_latest(merged) + generate_latest(unshared)
