"""The edge (deploy/edge/haproxy.cfg) and where compose and Kubernetes run it, checked
without an engine: the promises a typo would silently break. The compose test
(tests/docker/test_docker_compose_e2e.py) sends requests through it."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from core.settings import Settings
from service.admission import ALWAYS_ANSWERED

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "deploy" / "edge" / "haproxy.cfg"
COMPOSE_FILE = ROOT / "docker-compose.yml"
KUBERNETES_DIR = ROOT / "deploy" / "kubernetes"
_DEFAULT = re.compile(r"^\s*presetenv (?P<name>\S+) (?P<value>\S+)$", re.MULTILINE)
_COMPOSE_DEFAULT = re.compile(r"\$\{(?P<name>LAYERLENS_EDGE_[A-Z_]+):-(?P<value>[^}]*)\}")


def _kubernetes() -> dict[str, dict[str, Any]]:
    found = {}
    for path in KUBERNETES_DIR.glob("*.yaml"):
        for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")):
            if doc and "metadata" in doc:
                found[f"{doc['kind']}/{doc['metadata']['name']}"] = doc
    return found


def _env(container: dict[str, Any]) -> dict[str, str]:
    return {e["name"]: e.get("value", "<from>") for e in container.get("env", [])}


def test_health_checks_and_metrics_bypass_the_limit_exactly_as_in_the_api() -> None:
    (line,) = [ln for ln in CONFIG.read_text().splitlines() if ln.strip().startswith("acl control")]
    assert set(line.split()[3:]) == ALWAYS_ANSWERED
    assert "use_backend control if control" in CONFIG.read_text()


def test_compose_defaults_are_the_configs_defaults() -> None:
    defaults = dict(_DEFAULT.findall(CONFIG.read_text()))
    compose = dict(_COMPOSE_DEFAULT.findall(COMPOSE_FILE.read_text()))
    tuned = {k: v for k, v in compose.items() if k != "LAYERLENS_EDGE_METRICS_PORT"}
    assert tuned and all(defaults[name] == value for name, value in tuned.items()), tuned


def test_compose_publishes_the_api_through_the_edge_only() -> None:
    services = yaml.safe_load(COMPOSE_FILE.read_text())["services"]
    assert "ports" not in services["api"]  # so that --scale api=N works
    published = services["edge"]["ports"]
    assert "${LAYERLENS_API_PORT:-8000}:8080" in published
    assert services["edge"]["build"]["context"] == "deploy/edge"


def test_kubernetes_edge_reaches_the_api_pods_and_lets_through_no_more_than_they_take() -> None:
    kinds = _kubernetes()
    edge = kinds["Deployment/layerlens-edge"]["spec"]
    (container,) = edge["template"]["spec"]["containers"]
    env = _env(container)
    headless = kinds["Service/layerlens-api-pods"]["spec"]
    assert headless["clusterIP"] == "None"
    api = kinds["Deployment/layerlens-api"]["spec"]["template"]
    assert headless["selector"].items() <= api["metadata"]["labels"].items()
    assert env["LAYERLENS_EDGE_BACKEND"].startswith("layerlens-api-pods.$(POD_NAMESPACE).svc.")
    hpa = kinds["HorizontalPodAutoscaler/layerlens-api"]["spec"]
    assert int(env["LAYERLENS_EDGE_REPLICAS"]) >= hpa["maxReplicas"]
    (api_container,) = api["spec"]["containers"]
    workers = int(_env(api_container)["LAYERLENS_WORKERS"])
    per_worker = Settings.model_fields["max_in_flight"].default
    assert edge["replicas"] * int(env["LAYERLENS_EDGE_MAXCONN"]) <= workers * per_worker
    service = kinds["Service/layerlens-edge"]["spec"]
    assert service["selector"].items() <= edge["template"]["metadata"]["labels"].items()


def test_haproxy_accepts_the_configuration() -> None:
    haproxy = shutil.which("haproxy")
    if haproxy is None:
        pytest.skip(
            "haproxy is not installed here (apt-get install haproxy); the compose test runs it"
        )
    env = {**os.environ, "LAYERLENS_EDGE_BACKEND": "127.0.0.1"}
    checked = subprocess.run(
        [haproxy, "-c", "-f", str(CONFIG)], capture_output=True, text=True, env=env, check=False
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
