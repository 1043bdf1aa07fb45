"""`make run`'s second half: the service answers while a trainer fills the repository.

What the trainer will still train is read from MODELS_DIR/.training.json; each model is
served once it lands, by the periodic reload alone, and none of them holds readiness.
"""

from __future__ import annotations

import shutil
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from typer.testing import CliRunner

from clients import Client
from clients.cli import app
from core.training_status import TrainingStatus, clear_status, write_status
from tests.fixtures.server import run_server
from tests.service.helpers import copy_versions


def _training(models_dir: Path, *pending: str) -> None:
    now = datetime.now(UTC)
    write_status(models_dir, TrainingStatus(pending=list(pending), started_at=now, updated_at=now))


def _land(source: Path, models_dir: Path, name: str) -> None:
    """Into a hidden staging folder, then renamed into place, as training/export.py does."""
    staging = models_dir / name / ".staging-1"
    shutil.copytree(source / name / "1", staging)
    staging.rename(models_dir / name / "1")


def _until(http: httpx.Client, check: Any, timeout_s: float = 30.0) -> dict:
    deadline = time.monotonic() + timeout_s
    while True:
        body = http.get("/v1/models").json()
        if check(body) or time.monotonic() > deadline:
            return body
        time.sleep(0.1)


def test_models_still_training_are_listed_and_served_as_they_land(
    model_repository: Any, tmp_path: Path
) -> None:
    models_dir = copy_versions(model_repository.models_dir, tmp_path / "models", {"xor": [1]})
    _training(models_dir, "digits", "fashion")
    settings = model_repository.settings(models_dir=models_dir, reload_interval_s=0.2)
    with run_server(settings) as server, server.client() as http:
        assert http.get("/v2/health/ready").status_code == 200
        body = http.get("/v1/models").json()
        assert [m["name"] for m in body["models"]] == ["xor"]
        assert body["training"] == ["digits", "fashion"]
        with Client(server.url) as client:
            assert client.training() == ["digits", "fashion"]
        listed = CliRunner().invoke(app, ["--url", server.url, "models"])
        assert "still training (served as each lands): digits, fashion" in listed.stdout
        assert http.post("/v1/models/digits:predict", json={"instances": []}).status_code == 404

        _land(model_repository.models_dir, models_dir, "digits")
        _training(models_dir, "fashion")
        body = _until(http, lambda b: "digits" in [m["name"] for m in b["models"]])
        assert [m["name"] for m in body["models"]] == ["digits", "xor"]
        assert body["training"] == ["fashion"]
        answer = http.post("/v1/models/digits:predict", json={"instances": [[0] * 784]})
        assert answer.status_code == 200 and answer.json()["version"] == 1
        assert http.get("/v2/health/ready").status_code == 200

        clear_status(models_dir)  # the trainer stopped
        assert http.get("/v1/models").json()["training"] == []
        listed = CliRunner().invoke(app, ["--url", server.url, "models"])
        assert listed.exit_code == 0 and "still training" not in listed.stdout
        assert http.get("/v2/health/ready").status_code == 200
