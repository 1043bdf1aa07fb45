"""Readiness when a version on disk does not load: the others serve, the broken one says so."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from tests.fixtures.server import run_server
from tests.service.helpers import assert_error, copy_versions

KEY = "readiness-key"
XOR = {"instances": [[0, 1]]}


def _publish_xor(models_dir: Path, source: Path, as_version: int, *, broken: bool) -> None:
    """xor v1 copied in as ``as_version``; ``broken`` overwrites its SavedModel graph."""
    target = models_dir / "xor" / str(as_version)
    shutil.copytree(source / "xor" / "1", target)
    manifest = target / "manifest.json"
    raw = json.loads(manifest.read_text())
    raw["version"] = as_version
    manifest.write_text(json.dumps(raw))
    if broken:
        (target / "saved_model" / "saved_model.pb").write_bytes(b"not a protobuf")


def _broken_repository(model_repository: Any, tmp_path: Path) -> Path:
    models_dir = copy_versions(model_repository.models_dir, tmp_path, {"xor": [1]})
    _publish_xor(models_dir, model_repository.models_dir, 2, broken=True)
    return models_dir


def test_a_version_that_failed_to_load_holds_readiness_until_it_loads(
    model_repository: Any, tmp_path: Path
) -> None:
    models_dir = _broken_repository(model_repository, tmp_path)
    settings = model_repository.settings(models_dir=models_dir, api_key=KEY)
    with run_server(settings, wait_path="/v2/health/live") as server, server.client() as http:
        assert_error(http.get("/v2/health/ready"), 503, "failed to load", "xor/2")
        # The version that loaded serves, and is the default while 2 is out.
        answer = http.post("/v1/models/xor:predict", json=XOR)
        assert answer.status_code == 200 and answer.json()["version"] == 1
        assert http.get("/v2/models/xor/versions/1/ready").status_code == 200
        # The broken one is "not ready", not "no such version".
        assert_error(http.post("/v1/models/xor/versions/2:predict", json=XOR), 503, "version 2")
        assert_error(http.get("/v2/models/xor/versions/2/ready"), 503, "failed to load")
        assert_error(http.get("/v1/models/xor/versions/3"), 404, "no version 3")
        assert "layerlens_model_versions_not_serving 1.0" in http.get("/metrics").text

        shutil.rmtree(models_dir / "xor" / "2")
        _publish_xor(models_dir, model_repository.models_dir, 2, broken=False)
        report = http.post("/v1/admin/reload", headers={"X-API-Key": KEY}).json()
        assert report["loaded"] == ["xor/2"] and report["failed"] == []
        assert http.get("/v2/health/ready").json() == {"ready": True}
        assert http.post("/v1/models/xor/versions/2:predict", json=XOR).status_code == 200
        assert "layerlens_model_versions_not_serving 0.0" in http.get("/metrics").text


def test_a_model_with_no_loadable_version_is_not_ready_rather_than_unknown(
    model_repository: Any, tmp_path: Path
) -> None:
    models_dir = _broken_repository(model_repository, tmp_path)
    shutil.rmtree(models_dir / "xor" / "1")
    settings = model_repository.settings(models_dir=models_dir, strict_readiness=False)
    with run_server(settings) as server, server.client() as http:
        # Not strict: ready once loading finished, although nothing of xor loaded.
        assert http.get("/v2/health/ready").json() == {"ready": True}
        assert_error(http.post("/v1/models/xor:predict", json=XOR), 503, "no version")
        assert_error(http.get("/v2/models/xor/ready"), 503)
        assert_error(http.post("/v1/models/nope:predict", json=XOR), 404, "not found")


def test_a_pinned_default_version_serves_requests_that_name_none(
    model_repository: Any, tmp_path: Path
) -> None:
    models_dir = copy_versions(model_repository.models_dir, tmp_path, {"xor": [1]})
    _publish_xor(models_dir, model_repository.models_dir, 2, broken=False)
    settings = model_repository.settings(models_dir=models_dir, default_versions={"xor": 1})
    with run_server(settings) as server, server.client() as http:
        assert http.post("/v1/models/xor:predict", json=XOR).json()["version"] == 1
        assert http.post("/v1/models/xor/versions/2:predict", json=XOR).json()["version"] == 2
        assert http.get("/v1/models/xor").json()["version"] == 1
        listed = {m["name"]: m for m in http.get("/v1/models").json()["models"]}
        assert listed["xor"]["default_version"] == 1 and listed["xor"]["versions"] == [1, 2]


def test_a_pinned_default_that_is_not_loaded_is_named_not_replaced(
    model_repository: Any, tmp_path: Path
) -> None:
    models_dir = copy_versions(model_repository.models_dir, tmp_path, {"xor": [1]})
    pinned = model_repository.settings(models_dir=models_dir, default_versions={"xor": 3})
    with run_server(pinned, wait_path="/v2/health/live") as server, server.client() as http:
        assert_error(http.get("/v2/health/ready"), 503, "xor/3")
        # No silent fall-back to version 1: a pin is there to stop exactly that.
        assert_error(http.post("/v1/models/xor:predict", json=XOR), 503, "default version 3")
        assert http.post("/v1/models/xor/versions/1:predict", json=XOR).status_code == 200
        assert http.get("/v1/models").json()["models"][0]["default_version"] == 3
