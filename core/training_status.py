"""The trainer's status file: the models a running ``layerlens-train train`` will still train.

``make run`` serves as soon as the default models exist and trains the other variants in a
separate process; the service picks each up by its periodic reload. To say which models
are still on their way (``GET /v1/models`` -> ``"training"``), the service reads this file,
``MODELS_DIR/.training.json``, which the trainer alone writes:

- at its start (what it will train), after each model, and every ``HEARTBEAT_S`` seconds
  in between (``updated_at``), each time atomically (a temporary sibling renamed into
  place, so a reader never sees half a file);
- removed when the trainer stops, however it stops short of SIGKILL.

A file not refreshed for ``STALE_AFTER_S`` is ignored: its trainer was killed outright
or its container is gone, and nothing is training any more. The name starts with a dot,
so it is never taken for a model folder, and the service reads only this one fixed path.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import TracebackType

from pydantic import BaseModel, ConfigDict, ValidationError

STATUS_FILE = ".training.json"
#: How often a running trainer refreshes ``updated_at``.
HEARTBEAT_S = 10.0
#: A status older than this is a dead trainer's: several missed heartbeats.
STALE_AFTER_S = 60.0


class TrainingStatus(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    #: Models still to train (a new version for one already served), in training order;
    #: the first is being trained now.
    pending: list[str]
    started_at: datetime
    updated_at: datetime


def status_path(models_dir: Path) -> Path:
    return models_dir / STATUS_FILE


def read_status(models_dir: Path, *, now: datetime | None = None) -> TrainingStatus | None:
    """The current status, or None: no trainer, a stale or an unreadable file."""
    try:
        raw = status_path(models_dir).read_bytes()
        status = TrainingStatus.model_validate_json(raw)
    except (OSError, ValidationError, ValueError):
        return None
    now = now or datetime.now(UTC)
    if now - status.updated_at > timedelta(seconds=STALE_AFTER_S):
        return None
    return status


def write_status(models_dir: Path, status: TrainingStatus) -> None:
    """Atomically: a reader sees the old file or the new one, never a mix."""
    path = status_path(models_dir)
    tmp = path.with_name(f"{STATUS_FILE}.{os.getpid()}.tmp")
    tmp.write_text(status.model_dump_json(), encoding="utf-8")
    tmp.replace(path)


def clear_status(models_dir: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        status_path(models_dir).unlink()


class StatusWriter:
    """Keeps ``MODELS_DIR/.training.json`` true while a trainer runs (a context manager).

    ``done(name)`` takes a model off the list; a daemon thread refreshes the heartbeat;
    leaving the block removes the file. Nothing is written when nothing is pending.
    """

    def __init__(self, models_dir: Path, pending: Sequence[str]) -> None:
        self._models_dir = models_dir
        self._pending = list(pending)
        self._started = datetime.now(UTC)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name="training-status", daemon=True)

    @property
    def pending(self) -> list[str]:
        with self._lock:
            return list(self._pending)

    def done(self, name: str) -> None:
        with self._lock:
            if name in self._pending:
                self._pending.remove(name)
            self._write()

    def _write(self) -> None:
        if not self._pending:
            clear_status(self._models_dir)
            return
        now = datetime.now(UTC)
        write_status(
            self._models_dir,
            TrainingStatus(pending=self._pending, started_at=self._started, updated_at=now),
        )

    def _beat(self) -> None:
        while not self._stop.wait(HEARTBEAT_S):
            with self._lock:
                self._write()

    def __enter__(self) -> StatusWriter:
        if self._pending:
            self._models_dir.mkdir(parents=True, exist_ok=True)
            with self._lock:
                self._write()
            self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()
        with self._lock:
            self._pending.clear()
            clear_status(self._models_dir)
