"""All configuration, in one class. Nothing else in layerlens reads ``os.environ``.

Precedence (pydantic-settings): initialiser arguments > environment > ``.env`` > defaults.
Tests pass values to the initialiser; they never patch the environment.
Every field is read from ``LAYERLENS_<FIELD>``; a few conventional names are accepted too
(``DATABASE_URL``, ``MODELS_DIR``, ``DATA_DIR``, ``PORT``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, PositiveInt, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DATABASE_URL = "sqlite:///var/layerlens.db"


def _env(name: str, *also: str) -> AliasChoices:
    return AliasChoices(f"LAYERLENS_{name.upper()}", *also)


class BatchPolicy(BaseModel):
    """Dynamic batching for one model version's endpoints."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    enabled: bool
    max_size: int = Field(gt=0)
    max_wait_ms: float = Field(ge=0)
    max_queue: int = Field(gt=0)


class BatchOverride(BaseModel):
    """Per-model changes to the global batching settings; unset fields keep them."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    enabled: bool | None = None
    max_size: int | None = Field(None, gt=0)
    max_wait_ms: float | None = Field(None, ge=0)
    max_queue: int | None = Field(None, gt=0)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="LAYERLENS_",
        env_file=".env",
        extra="ignore",
        populate_by_name=True,
        frozen=True,
    )

    # --- where things live -------------------------------------------------------------
    models_dir: Path = Field(
        Path("models"),
        validation_alias=_env("models_dir", "MODELS_DIR"),
        description="The model repository: <models_dir>/<model>/<version>/. "
        "Models are only ever loaded from here.",
    )
    data_dir: Path = Field(
        Path("data"),
        validation_alias=_env("data_dir", "DATA_DIR"),
        description="Where the fetched dataset files are kept (IDX files of MNIST, Fashion-MNIST).",
    )
    database_url: str = Field(
        DEFAULT_DATABASE_URL,
        validation_alias=_env("database_url", "DATABASE_URL"),
        description="SQLAlchemy URL of the metrics database: sqlite:///path or "
        "postgresql+psycopg://user:pass@host/db.",
    )

    # --- the HTTP server ---------------------------------------------------------------
    host: str = Field("127.0.0.1", validation_alias=_env("host"), description="Bind address.")
    port: int = Field(
        8000, ge=1, le=65535, validation_alias=_env("port", "PORT"), description="Bind port."
    )
    workers: int = Field(
        1, ge=1, le=64, validation_alias=_env("workers"), description="uvicorn worker processes."
    )
    grpc_enabled: bool = Field(
        True,
        validation_alias=_env("grpc_enabled"),
        description="Serve the Open Inference Protocol over gRPC too (beside HTTP, same "
        "process and models); false turns it off.",
    )
    grpc_port: int = Field(
        8001,
        ge=0,
        le=65535,
        validation_alias=_env("grpc_port"),
        description="gRPC port (every worker binds it; requests larger than "
        "LAYERLENS_MAX_BODY_BYTES are refused). 0 picks a free port.",
    )
    log_level: Literal["debug", "info", "warning", "error"] = Field(
        "info", validation_alias=_env("log_level"), description="Log level."
    )
    log_format: Literal["json", "text"] = Field(
        "text",
        validation_alias=_env("log_format"),
        description="'json' writes one JSON object a line (structured logs).",
    )
    graceful_timeout_s: float = Field(
        20.0,
        gt=0,
        validation_alias=_env("graceful_timeout_s"),
        description="On SIGTERM, how long in-flight requests get to finish.",
    )
    api_key: SecretStr | None = Field(
        None,
        validation_alias=_env("api_key"),
        description="Required (header X-API-Key) by administrative routes such as reload; "
        "when unset those routes are disabled.",
    )
    reload_interval_s: float = Field(
        0.0,
        ge=0,
        validation_alias=_env("reload_interval_s"),
        description="Poll MODELS_DIR for new versions every N seconds; 0 turns polling off.",
    )
    default_versions: dict[str, PositiveInt] = Field(
        default_factory=dict,
        validation_alias=_env("default_versions"),
        description="The version a request without one gets, per model, as JSON, e.g. "
        '{"digits": 1}; unlisted models get their highest loaded version.',
    )
    strict_readiness: bool = Field(
        True,
        validation_alias=_env("strict_readiness"),
        description="Report not ready (503 on /v2/health/ready) while any version found in "
        "MODELS_DIR failed to load or a pinned default version is not loaded, as Triton does; "
        "false: ready once loading has finished, serving the versions that loaded.",
    )

    # --- request limits ----------------------------------------------------------------
    max_body_bytes: int = Field(
        64 * 1024 * 1024,
        gt=0,
        validation_alias=_env("max_body_bytes"),
        description="Largest request body accepted (413 above).",
    )
    max_batch_size: int = Field(
        4096,
        gt=0,
        validation_alias=_env("max_batch_size"),
        description="Most instances (or images) in one request.",
    )
    max_image_pixels: int = Field(
        16_000_000,
        gt=0,
        validation_alias=_env("max_image_pixels"),
        description="Largest decoded image (width x height) accepted: guards against "
        "decompression bombs.",
    )
    max_alphas: int = Field(
        1000,
        gt=1,
        validation_alias=_env("max_alphas"),
        description="Most alpha values in one interpolation sweep.",
    )
    default_top_k: int = Field(
        3,
        ge=1,
        validation_alias=_env("default_top_k"),
        description="top-k returned by predict unless asked.",
    )

    # --- dynamic batching --------------------------------------------------------------
    batching_enabled: bool = Field(
        True,
        validation_alias=_env("batching_enabled"),
        description="Queue concurrent requests per model version and run them as one batch.",
    )
    batch_max_size: int = Field(
        256,
        gt=0,
        validation_alias=_env("batch_max_size"),
        description="Most instances run together in one batch.",
    )
    batch_max_wait_ms: float = Field(
        0.0,
        ge=0,
        validation_alias=_env("batch_max_wait_ms"),
        description="Longest a request waits for others to join its batch. 0: a batch leaves "
        "as soon as the batcher runs, with every request that queued while the last one ran.",
    )
    batch_max_queue: int = Field(
        8192,
        gt=0,
        validation_alias=_env("batch_max_queue"),
        description="Queued instances per model version before answering 503.",
    )
    batch_per_model: dict[str, BatchOverride] = Field(
        default_factory=dict,
        validation_alias=_env("batch_per_model"),
        description='Per-model batching as JSON, e.g. {"digits-cnn": {"max_size": 64, '
        '"max_wait_ms": 5}}; fields: enabled, max_size, max_wait_ms, max_queue.',
    )
    inference_runtime: Literal["litert", "tensorflow"] = Field(
        "litert",
        validation_alias=_env("inference_runtime"),
        description="'litert' runs a version's LiteRT copy of its endpoints when it has one "
        "that matches the SavedModel at load; 'tensorflow' always calls the SavedModel.",
    )
    tf_intra_op_threads: int = Field(
        0,
        ge=0,
        validation_alias=_env("tf_intra_op_threads"),
        description="TensorFlow intra-op (and LiteRT) threads per worker; 0 = cores / workers.",
    )

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
        )

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")
