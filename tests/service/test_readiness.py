"""Readiness when a version on disk does not load: the others serve, the broken one says so,
and the server is not ready only while a model's default version cannot serve."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import httpx
import pytest

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


def _gauge(http: httpx.Client, name: str) -> float:
    for line in http.get("/metrics").text.splitlines():
        if line.startswith(f"{name} "):
            return float(line.split()[1])
    raise AssertionError(f"{name} is not exported")


def _reload(http: httpx.Client) -> dict[str, Any]:
    response = http.post("/v1/admin/reload", headers={"X-API-Key": KEY})
    assert response.status_code == 200, response.text
    return response.json()


def test_a_broken_version_that_is_not_the_default_answers_503_and_leaves_the_server_ready(
    model_repository: Any, tmp_path: Path
) -> None:
    """Every replica reads the same volume: one bad version must not unready the fleet."""
    models_dir = _broken_repository(model_repository, tmp_path)
    settings = model_repository.settings(models_dir=models_dir, api_key=KEY)
    with run_server(settings) as server, server.client() as http:
        assert http.get("/v2/health/ready").json() == {"ready": True}
        # The version that loaded serves, and is the default while 2 is out.
        answer = http.post("/v1/models/xor:predict", json=XOR)
        assert answer.status_code == 200 and answer.json()["version"] == 1
        assert http.get("/v2/models/xor/versions/1/ready").status_code == 200
        # The broken one is "not ready", not "no such version".
        assert_error(http.post("/v1/models/xor/versions/2:predict", json=XOR), 503, "version 2")
        assert_error(http.get("/v2/models/xor/versions/2/ready"), 503, "failed to load")
        assert_error(http.get("/v1/models/xor/versions/3"), 404, "no version 3")
        assert _gauge(http, "layerlens_model_versions_not_serving") == 1
        assert _reload(http)["failed"] == ["xor/2"]  # every reload tries it again

        shutil.rmtree(models_dir / "xor" / "2")
        _publish_xor(models_dir, model_repository.models_dir, 2, broken=False)
        report = _reload(http)
        assert report["loaded"] == ["xor/2"] and report["failed"] == []
        assert http.post("/v1/models/xor:predict", json=XOR).json()["version"] == 2
        assert _gauge(http, "layerlens_model_versions_not_serving") == 0


def test_files_of_a_loaded_version_corrupted_on_disk_keep_serving_from_memory(
    model_repository: Any, tmp_path: Path
) -> None:
    """The damage is found by the next reload, reported, and the loaded copy keeps serving."""
    models_dir = copy_versions(model_repository.models_dir, tmp_path, {"xor": [1]})
    graph = models_dir / "xor" / "1" / "saved_model" / "saved_model.pb"
    intact = graph.read_bytes()
    settings = model_repository.settings(models_dir=models_dir, api_key=KEY)
    with run_server(settings) as server, server.client() as http:
        before = http.post("/v1/models/xor:predict", json=XOR).json()
        assert _reload(http)["loaded"] == []  # unchanged files are not loaded again

        graph.write_bytes(b"not a protobuf")
        report = _reload(http)
        assert report["failed"] == ["xor/1"] and report["models"] == {"xor": [1]}
        assert http.post("/v1/models/xor:predict", json=XOR).json() == before
        assert http.get("/v2/health/ready").json() == {"ready": True}
        assert _gauge(http, "layerlens_model_versions_stale") == 1
        assert _gauge(http, "layerlens_model_versions_not_serving") == 0

        graph.write_bytes(intact)  # repaired: the next reload loads the files again
        report = _reload(http)
        assert report["loaded"] == ["xor/1"] and report["failed"] == []
        assert http.post("/v1/models/xor:predict", json=XOR).json() == before
        assert _gauge(http, "layerlens_model_versions_stale") == 0


@pytest.mark.parametrize("strict", [True, False])
def test_a_model_with_no_loadable_version_is_not_ready_rather_than_unknown(
    model_repository: Any, tmp_path: Path, strict: bool
) -> None:
    """Its default cannot serve: strict readiness says so, naming the model."""
    models_dir = _broken_repository(model_repository, tmp_path)
    shutil.rmtree(models_dir / "xor" / "1")
    copy_versions(model_repository.models_dir, models_dir, {"sklearn-digits": [1]})
    settings = model_repository.settings(models_dir=models_dir, strict_readiness=strict)
    with run_server(settings, wait_path="/v2/health/live") as server, server.client() as http:
        if strict:
            assert_error(http.get("/v2/health/ready"), 503, "default version", "(xor)")
        else:  # ready once loading finished, although nothing of xor loaded
            assert http.get("/v2/health/ready").json() == {"ready": True}
        assert_error(http.post("/v1/models/xor:predict", json=XOR), 503, "no version")
        assert_error(http.get("/v2/models/xor/ready"), 503)
        assert_error(http.post("/v1/models/nope:predict", json=XOR), 404, "not found")
        assert http.get("/v2/models/sklearn-digits/ready").status_code == 200


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
