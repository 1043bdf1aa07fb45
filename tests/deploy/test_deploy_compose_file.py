"""docker-compose.yml, .env.example and the Dockerfile, checked without an engine: the
promises of the deployment issue that a typo would silently break."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from core.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yml"
ENV_EXAMPLE = ROOT / ".env.example"
DOCKERFILE = ROOT / "Dockerfile"
REQUIREMENTS_SCRIPT = ROOT / "deploy" / "docker" / "requirements.py"
#: `${NAME:-default}` as compose interpolates it.
_VARIABLE = re.compile(r"\$\{(?P<name>[A-Z0-9_]+):-(?P<default>[^}]*)\}")
#: Variables that configure compose or the trainer image, not core.settings.Settings.
DEPLOY_ONLY = {
    "POSTGRES_USER",
    "POSTGRES_PASSWORD",
    "POSTGRES_DB",
    "LAYERLENS_API_PORT",
    "LAYERLENS_API_GRPC_PORT",
    "LAYERLENS_STOP_GRACE_PERIOD",
    "LAYERLENS_IMAGE_TAG",
    "LAYERLENS_EDGE_METRICS_PORT",
    "LAYERLENS_EDGE_MAXCONN",
    "LAYERLENS_EDGE_MAX_QUEUE",
    "LAYERLENS_EDGE_QUEUE_TIMEOUT_MS",
    "LAYERLENS_EDGE_BACKEND",
    "LAYERLENS_EDGE_REPLICAS",
}


def _compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))


def _compose_defaults() -> dict[str, str]:
    found: dict[str, str] = {}
    for match in _VARIABLE.finditer(COMPOSE_FILE.read_text(encoding="utf-8")):
        assert found.setdefault(match["name"], match["default"]) == match["default"], (
            f"{match['name']} has two different defaults in docker-compose.yml"
        )
    return found


def _env_example() -> dict[str, str]:
    pairs = {}
    for line in ENV_EXAMPLE.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, _, value = line.partition("=")
            pairs[name.strip()] = value.strip()
    return pairs


def _seconds(duration: str) -> float:
    match = re.fullmatch(r"(\d+(?:\.\d+)?)(ms|s|m)?", duration)
    assert match, f"not a compose duration: {duration!r}"
    scale = {"ms": 0.001, "s": 1.0, "m": 60.0, None: 1.0}[match[2]]
    return float(match[1]) * scale


def test_env_example_documents_every_compose_variable_with_the_same_default() -> None:
    assert _env_example() == _compose_defaults()


def test_every_layerlens_variable_is_a_setting_or_a_deploy_variable() -> None:
    text = COMPOSE_FILE.read_text(encoding="utf-8") + ENV_EXAMPLE.read_text(encoding="utf-8")
    text += "".join(p.read_text(encoding="utf-8") for p in (ROOT / "deploy").rglob("*.yaml"))
    used = set(re.findall(r"\bLAYERLENS_[A-Z0-9_]+", text))
    known = {f"LAYERLENS_{name.upper()}" for name in Settings.model_fields} | DEPLOY_ONLY
    assert used - known == set(), "misspelt or unknown LAYERLENS_ variables"


def test_api_waits_for_a_healthy_db_and_a_successful_trainer() -> None:
    services = _compose()["services"]
    assert services["api"]["depends_on"] == {
        "db": {"condition": "service_healthy"},
        "trainer": {"condition": "service_completed_successfully"},
    }
    assert services["trainer"]["depends_on"] == {"db": {"condition": "service_healthy"}}
    assert services["trainer"]["restart"] == "no"  # one-shot
    assert "pg_isready" in " ".join(services["db"]["healthcheck"]["test"])


def test_api_reads_the_models_volume_read_only_and_the_trainer_writes_it() -> None:
    services = _compose()["services"]
    assert "models:/var/lib/layerlens/models:ro" in services["api"]["volumes"]
    assert "models:/var/lib/layerlens/models" in services["trainer"]["volumes"]
    assert set(_compose()["volumes"]) == {"db", "models", "data"}


def test_stop_grace_period_outlasts_the_graceful_timeout() -> None:
    defaults = _compose_defaults()
    grace = _seconds(defaults["LAYERLENS_STOP_GRACE_PERIOD"])
    assert grace > float(defaults["LAYERLENS_GRACEFUL_TIMEOUT_S"])
    setting = Settings.model_fields["graceful_timeout_s"].default
    assert float(defaults["LAYERLENS_GRACEFUL_TIMEOUT_S"]) == setting


def test_dockerfile_runtime_is_non_root_exec_form_with_a_readiness_healthcheck() -> None:
    text = DOCKERFILE.read_text(encoding="utf-8")
    assert not text.startswith("# syntax="), "a syntax line pulls a frontend from a registry"
    assert "--mount=" not in text, "docker-compose v1 builds with the classic builder"
    stages = re.split(r"^FROM ", text, flags=re.MULTILINE)[1:]
    names = [stage.split()[2] for stage in stages]
    assert names[-1] == "api", "the default target must be the API"
    for stage in stages:
        if stage.split()[2] in ("api", "trainer"):
            assert re.search(r"^USER layerlens$", stage, flags=re.MULTILINE)
            assert re.search(r'^ENTRYPOINT \["', stage, flags=re.MULTILINE)
    assert 'CMD ["layerlens-healthcheck"]' in stages[-1]
    bases = set(re.findall(r"^ARG \w+_IMAGE=(\S+)$", text, flags=re.MULTILINE))
    assert bases == {"python:3.11-slim", "debian:bookworm-slim"}


def test_dockerignore_keeps_secrets_and_local_state_out_of_the_context() -> None:
    lines = (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
    assert lines[lines.index("*")] == "*", "the context is an allow-list"
    allowed = {line[1:].rstrip("/") for line in lines if line.startswith("!")}
    assert not allowed & {".env", "data", "models", "var", ".venv", ".git"}


def _requirements(extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(REQUIREMENTS_SCRIPT), extra, "--pyproject", "pyproject.toml"],
        check=False,
        cwd=ROOT,
        capture_output=True,
        text=True,
    )


def test_requirements_script_expands_the_serve_extra() -> None:
    result = _requirements("serve")
    assert result.returncode == 0, result.stderr
    names = {re.split(r"[<>=;\[ ]", line)[0] for line in result.stdout.splitlines()}
    assert {"fastapi", "uvicorn", "sqlalchemy", "numpy"} <= names
    assert "layerlens" not in names, "self-references must be expanded"
    assert "scikit-learn" not in names, "the serve image does not carry the trainer's packages"


def test_requirements_script_names_an_unknown_extra() -> None:
    result = _requirements("nope")
    assert result.returncode != 0
    assert "no extra named 'nope'" in result.stderr


@pytest.mark.parametrize("service", ["trainer", "api"])
def test_built_images_are_tagged_by_target(service: str) -> None:
    spec = _compose()["services"][service]
    assert spec["build"]["target"] == service
    assert spec["image"] == f"layerlens-{service}:${{LAYERLENS_IMAGE_TAG:-latest}}"
