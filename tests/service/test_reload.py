"""Reload: new versions appear and removed ones go, with no failed request under load."""

from __future__ import annotations

import gc
import json
import shutil
import threading
from pathlib import Path
from typing import Any

import httpx

from tests.fixtures.server import run_server
from tests.service.helpers import assert_error, copy_versions

KEY = "reload-key"


def _hammer(url: str, stop: threading.Event, statuses: list[int], versions: set[int]) -> None:
    with httpx.Client(base_url=url, timeout=60) as http:
        while not stop.is_set():
            response = http.post("/v1/models/xor:predict", json={"instances": [[0, 1]]})
            statuses.append(response.status_code)
            if response.status_code == 200:
                versions.add(response.json()["version"])


def _publish(source: Path, target: Path, version: int, as_version: int) -> None:
    """Copy into a hidden sibling, then rename into place (as training does)."""
    staging = target / "xor" / f".tmp-{as_version}"
    shutil.copytree(source / "xor" / str(version), staging)
    manifest = staging / "manifest.json"
    raw = json.loads(manifest.read_text())
    raw["version"] = as_version
    manifest.write_text(json.dumps(raw))
    staging.rename(target / "xor" / str(as_version))


def test_reload_under_load_fails_no_request(model_repository: Any, tmp_path: Path) -> None:
    models_dir = copy_versions(model_repository.models_dir, tmp_path, {"xor": [1]})
    settings = model_repository.settings(models_dir=models_dir, api_key=KEY)
    with run_server(settings) as server, server.client() as http:
        assert_error(http.post("/v1/admin/reload"), 401, "X-API-Key")
        assert_error(http.post("/v1/admin/reload", headers={"X-API-Key": "wrong"}), 401)
        stop, statuses, seen = threading.Event(), [], set()
        workers = [
            threading.Thread(target=_hammer, args=(server.url, stop, statuses, seen))
            for _ in range(3)
        ]
        for worker in workers:
            worker.start()
        try:
            _publish(model_repository.models_dir, models_dir, 1, 2)
            report = http.post("/v1/admin/reload", headers={"X-API-Key": KEY}).json()
            assert report["loaded"] == ["xor/2"] and report["models"]["xor"] == [1, 2]
            body = http.post("/v1/models/xor:predict", json={"instances": [[0, 1]]}).json()
            assert body["version"] == 2
            shutil.rmtree(models_dir / "xor" / "1")
            report = http.post("/v1/admin/reload", headers={"X-API-Key": KEY}).json()
            assert report["removed"] == ["xor/1"]
            assert_error(
                http.post("/v1/models/xor/versions/1:predict", json={"instances": [[0, 1]]}), 404
            )
        finally:
            stop.set()
            for worker in workers:
                worker.join()
        assert statuses and set(statuses) == {200}
        assert 2 in seen


def test_admin_routes_are_disabled_without_a_key(model_repository: Any, tmp_path: Path) -> None:
    models_dir = copy_versions(model_repository.models_dir, tmp_path, {"xor": [1]})
    settings = model_repository.settings(models_dir=models_dir, api_key=None, reload_interval_s=0.2)
    with run_server(settings) as server, server.client() as http:
        assert_error(http.post("/v1/admin/reload", headers={"X-API-Key": "x"}), 404, "disabled")
        _publish(model_repository.models_dir, models_dir, 1, 3)
        for _ in range(200):  # polling picks the new version up by itself
            if http.get("/v1/models/xor").json()["version"] == 3:
                break
            threading.Event().wait(0.1)
        assert http.get("/v1/models/xor").json()["versions"] == [1, 3]


def test_loaded_models_are_frozen_out_of_garbage_collection(model_repository: Any) -> None:
    """Full collections would walk every restored TensorFlow object (~300 ms pauses)."""
    with run_server(model_repository.settings()) as server, server.client() as http:
        assert http.post("/v1/models/xor:predict", json={"instances": [[0, 1]]}).status_code == 200
        plane = server.app.state.dataplane
        loaded = plane.repository.snapshot.get("xor")
        tracked = {id(obj) for obj in gc.get_objects()}
        assert gc.get_freeze_count() > 0
        assert id(loaded) not in tracked and id(loaded.manifest) not in tracked
