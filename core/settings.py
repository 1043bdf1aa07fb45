"""All configuration, in one class. Nothing else in layerlens reads ``os.environ``.

Precedence (pydantic-settings): initialiser arguments > environment > defaults.
Tests pass values to the initialiser; they never patch the environment.
Every field is read from ``LAYERLENS_<FIELD>`` (the env prefix); the conventional names
the README documents are accepted too (``DATABASE_URL``, ``MODELS_DIR``, ``DATA_DIR``,
``PORT``).

No ``.env`` file is read. ``.env`` beside docker-compose.yml is compose's file (its
variables fill in the compose file, and some of them, such as ``LAYERLENS_WORKERS``, mean
something else there than on a developer's machine): reading it here too made copying
``.env.example`` silently change every local run and test started from that folder. The
environment is the one source: compose, Kubernetes and ``docker run`` set it, and so does
the shell for a local run.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, PositiveInt, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DATABASE_URL = "sqlite:///var/layerlens.db"
ENV_PREFIX = "LAYERLENS_"

#: How much of each recipe training runs ('quick': tests and smoke runs).
TrainProfile = Literal["full", "quick"]


def _also_bare(name: str) -> AliasChoices:
    """``LAYERLENS_<NAME>`` or the conventional ``<NAME>`` other tools already set."""
    return AliasChoices(f"{ENV_PREFIX}{name}", name)


class BatchPolicy(BaseModel):
    """Dynamic batching for one model version's endpoints."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    enabled: bool
    max_size: int = Field(gt=0)
    max_wait_ms: float = Field(ge=0)
    max_queue: int = Field(gt=0)
    queue_deadline_ms: float = Field(gt=0)


class BatchOverride(BaseModel):
    """Per-model changes to the global batching settings; unset fields keep them."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    enabled: bool | None = None
    max_size: int | None = Field(None, gt=0)
    max_wait_ms: float | None = Field(None, ge=0)
    max_queue: int | None = Field(None, gt=0)
    queue_deadline_ms: float | None = Field(None, gt=0)


class Settings(BaseSettings):
    """Every setting of training and the service; each field's docstring is its description
    (the README's configuration table is printed from them)."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        extra="ignore",
        populate_by_name=True,
        frozen=True,
        use_attribute_docstrings=True,
    )

    # --- where things live -------------------------------------------------------------
    models_dir: Path = Field(Path("models"), validation_alias=_also_bare("MODELS_DIR"))
    """The model repository: <models_dir>/<model>/<version>/. Models are only ever loaded
    from here."""
    data_dir: Path = Field(Path("data"), validation_alias=_also_bare("DATA_DIR"))
    """Where the fetched dataset files are kept (IDX files of MNIST, Fashion-MNIST)."""
    database_url: str = Field(DEFAULT_DATABASE_URL, validation_alias=_also_bare("DATABASE_URL"))
    """SQLAlchemy URL of the metrics database: sqlite:///path or
    postgresql+psycopg://user:pass@host/db."""

    # --- the HTTP server ---------------------------------------------------------------
    host: str = "127.0.0.1"
    """Bind address."""
    port: int = Field(8000, ge=1, le=65535, validation_alias=_also_bare("PORT"))
    """Bind port."""
    workers: Annotated[int, Field(ge=1, le=64)] | Literal["auto"] = 1
    """uvicorn worker processes, or 'auto': one per usable core (the cgroup CPU quota, else
    the CPU affinity), at most as many as the memory limit holds (core/resources.py).
    `make run` and docker compose use auto."""
    event_loop: Literal["uvloop", "fair-accept"] = "uvloop"
    """The workers' event loop. 'uvloop' (the default) serves each request with the least
    CPU, but accepts one connection per loop iteration: a burst of hundreds of connections
    waits seconds in the kernel's accept queue. 'fair-accept': asyncio's loop accepting at
    most 16 connections per wake-up (service/eventloop.py), so a burst is accepted at once
    and spread over the workers, for 5-7% more CPU per request (benchmarks/README.md)."""
    prometheus_multiproc_dir: Path | None = Field(
        None, validation_alias=_also_bare("PROMETHEUS_MULTIPROC_DIR")
    )
    """Where the workers share their Prometheus metrics (prometheus-client's multiprocess
    mode), so one scrape of /metrics adds up every worker. `python -m service` sets it to a
    fresh temporary folder, removed at exit, whenever it starts several workers."""
    grpc_enabled: bool = True
    """Serve the Open Inference Protocol over gRPC too (beside HTTP, same process and
    models); false turns it off."""
    grpc_port: int = Field(8001, ge=0, le=65535)
    """gRPC port (every worker binds it; requests larger than LAYERLENS_MAX_BODY_BYTES are
    refused). 0 picks a free port."""
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    """Log level."""
    log_format: Literal["json", "text"] = "text"
    """'json' writes one JSON object a line (structured logs)."""
    graceful_timeout_s: float = Field(20.0, gt=0)
    """On SIGTERM, how long in-flight requests get to finish."""
    api_key: SecretStr | None = None
    """Required (header X-API-Key) by administrative routes such as reload; when unset those
    routes are disabled."""
    reload_interval_s: float = Field(0.0, ge=0)
    """Poll MODELS_DIR for new versions every N seconds; 0 turns polling off."""
    default_versions: dict[str, PositiveInt] = Field(default_factory=dict)
    """The version a request without one gets, per model, as JSON, e.g. {"digits": 1};
    unlisted models get their highest loaded version."""
    strict_readiness: bool = True
    """Report not ready (503 on /v2/health/ready) while a model's default version cannot
    serve: a pinned default that is not loaded, or a model none of whose versions loaded.
    Any other version that failed to load answers its own 503 and counts in the
    layerlens_model_versions_not_serving gauge, but keeps no replica out of its load
    balancer. false: ready once loading has finished, whatever failed."""

    allowed_hosts: list[str] = Field(default_factory=lambda: ["localhost", "127.0.0.1", "::1"])
    """Host header names the service answers (a leading '*.' matches any subdomain; ["*"]
    any host), as JSON. Others get 400, so a web page on another site cannot reach a
    loopback service through DNS rebinding. Health checks and /metrics are answered
    whatever the Host. Compose and Kubernetes add their service names."""

    # --- request limits ----------------------------------------------------------------
    max_header_bytes: int = Field(64 * 1024, gt=0)
    """Most bytes of request headers (names and values together); 431 above."""
    max_header_count: int = Field(100, gt=0)
    """Most request header lines; 431 above."""
    max_body_bytes: int = Field(64 * 1024 * 1024, gt=0)
    """Largest request body accepted (413 above)."""
    body_timeout_s: float = Field(60.0, gt=0)
    """The whole request body must arrive within this many seconds of the first read; 408
    and the connection closed otherwise (a 64 MB body needs about 9 Mbit/s)."""
    max_bodies_per_client: int = Field(16, gt=0)
    """Most request bodies one client address may be sending at once per worker; one more
    is answered 503 + Retry-After, so slow or idle senders cannot hold every slot of
    max_in_flight (keep it well below that: a quarter by default)."""
    max_batch_size: int = Field(4096, gt=0)
    """Most instances (or images) in one request."""
    max_image_pixels: int = Field(16_000_000, gt=0)
    """Largest decoded image (width x height) accepted: guards against decompression bombs."""
    max_decode_bytes: int = Field(512 * 1024 * 1024, gt=0)
    """Most memory decoding one request may allocate, computed before it is allocated: an
    uploaded image's decoded pixels, grey copies and fit (padding, crop, resize), from its
    header; a JSON body's parsed values, estimated from its bytes. 413 above, naming the
    estimate (docs/security.md gives one request's worst case)."""
    max_alphas: int = Field(1000, gt=1)
    """Most alpha values in one interpolation sweep."""
    max_explain_steps: int = Field(1000, gt=1)
    """Most integrated-gradients steps (and smoothgrad samples) in one :explain request."""
    explain_compile: bool = True
    """Compile the integrated-gradient paths of 1 or 2 inputs with XLA, in the background,
    and use them where they place the same points and measure faster than the graph
    (dense models: about half the CPU a path; convolutional ones keep the graph). At most
    2 per worker (for digits, about 200 MB resident in all)."""
    max_explain_rows: int = Field(4096, gt=0)
    """Most model rows one :explain request may cost: inputs x (path points, noisy copies
    or occluded patches). 413 above, naming the count."""
    max_neighbor_queries: int = Field(256, gt=0)
    """Most inputs in one :neighbors request (each is scored against a whole split)."""
    default_top_k: int = Field(3, ge=1)
    """top-k returned by predict unless asked."""
    max_in_flight: int = Field(64, gt=0)
    """Most HTTP requests one worker handles at once; more wait for a slot (first come,
    first served) up to max_in_flight_wait_ms, then are answered 503 + Retry-After, before
    their body is read (health checks and /metrics are always answered). The bound sets
    the accepted requests' latency under a flood: each worker's event loop turns over every
    request it holds, so 256 let the 200s' p99 reach 350 ms at 1,024 wrk connections where
    64 keeps it near 170-190 ms at no less goodput (benchmarks/README.md, issue 26)."""
    max_in_flight_wait_ms: float = Field(100.0, ge=0)
    """Longest a request past max_in_flight waits for a slot before it is refused (0: at
    once). Waiting costs no CPU; most waiting requests get a slot (service/slots.py)."""
    unready_after_s: float = Field(10.0, gt=0)
    """Readiness answers 503 once a worker has been unable to serve this long without a
    break: every max_in_flight slot held with none freed, every thread of the model or
    decoding pool busy with none finishing, or its event loop stalled this long
    (service/vitals.py)."""
    overload_hold_ms: float = Field(1000.0, ge=0)
    """How long a refusal past max_in_flight is held before the 503 + Retry-After is sent
    (0: sent at once). A held refusal costs a timer, not CPU, and paces clients that retry
    at once, whose refusals would otherwise take the CPU the served requests need."""

    # --- dynamic batching --------------------------------------------------------------
    batching_enabled: bool = True
    """Queue concurrent requests per model version and run them as one batch."""
    batch_max_size: int = Field(256, gt=0)
    """Most instances run together in one batch."""
    batch_max_wait_ms: float = Field(0.0, ge=0)
    """Longest a request waits for others to join its batch. 0: a batch leaves as soon as
    the batcher runs, with every request that queued while the last one ran."""
    batch_max_queue: int = Field(8192, gt=0)
    """Queued instances per model version before answering 503."""
    batch_queue_deadline_ms: float = Field(100.0, gt=0)
    """Longest a request may wait in a model's queue (Triton's queue policy timeout). With
    more than a batch queued, one whose predicted wait (queued instances times the measured
    cost per instance) is longer is refused at once with 503 + Retry-After, and one that
    waited longer is dropped, not run."""
    batch_per_model: dict[str, BatchOverride] = Field(default_factory=dict)
    """Per-model batching as JSON, e.g. {"digits-cnn": {"max_size": 64, "max_wait_ms": 5}};
    fields: enabled, max_size, max_wait_ms, max_queue, queue_deadline_ms."""
    inference_runtime: Literal["litert", "tensorflow"] = "litert"
    """'litert' runs a version's LiteRT copy of its endpoints when it has one that matches
    the SavedModel at load; 'tensorflow' always calls the SavedModel."""
    tf_intra_op_threads: int = Field(0, ge=0)
    """TensorFlow intra-op (and LiteRT) threads per worker; 0 = usable cores (the cgroup CPU
    quota, else the CPU affinity) / workers."""

    # --- training ----------------------------------------------------------------------
    train_profile: TrainProfile = "full"
    """How much of each recipe `layerlens-train train` runs: 'full' (the reports'
    training, minutes) or 'quick' (a tiny profile, seconds per model: tests, demos)."""
    train_jobs: int = Field(0, ge=0)
    """Models `layerlens-train train` trains at once, each in its own process with an equal
    share of the usable cores; 0 = one per usable core, at most 4."""

    @classmethod
    def env_names(cls) -> dict[str, tuple[str, ...]]:
        """Per field, the environment variables it is read from, in order of precedence."""
        names: dict[str, tuple[str, ...]] = {}
        for name, field in cls.model_fields.items():
            alias = field.validation_alias
            if isinstance(alias, AliasChoices):
                names[name] = tuple(str(choice) for choice in alias.choices)
            else:
                names[name] = (f"{ENV_PREFIX}{name.upper()}",)
        return names

    def batch_policy(self, model: str) -> BatchPolicy:
        """The global batching settings with ``model``'s overrides applied."""
        override = self.batch_per_model.get(model, BatchOverride())
        return BatchPolicy(
            enabled=self.batching_enabled if override.enabled is None else override.enabled,
            max_size=override.max_size or self.batch_max_size,
            max_wait_ms=(
                self.batch_max_wait_ms if override.max_wait_ms is None else override.max_wait_ms
            ),
            max_queue=override.max_queue or self.batch_max_queue,
            queue_deadline_ms=override.queue_deadline_ms or self.batch_queue_deadline_ms,
        )
