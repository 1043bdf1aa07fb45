"""Make sure a container engine and the base images exist before the end-to-end test.

On a normal machine the engine runs and `docker pull` fetches the base images. Where no
container registry is reachable (these build machines, CI), the repository's sibling
tool ``../shared/tools/offline-docker`` installs Debian's engine and builds the base
images locally; it is idempotent, so running it when only an image is missing is cheap.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.docker.compose import log, show_logs_through_capture

BASE_IMAGES = ("python:3.11-slim", "debian:bookworm-slim", "postgres:15")
PULL_TIMEOUT_S = 300.0
OFFLINE_DOCKER_TIMEOUT_S = 1800.0


def offline_docker_tool(repo_root: Path) -> Path:
    return repo_root.parent / "shared" / "tools" / "offline-docker"


def engine_up() -> bool:
    if not shutil.which("docker"):
        return False
    return subprocess.run(["docker", "info"], capture_output=True, check=False).returncode == 0


def has_image(image: str) -> bool:
    probe = ["docker", "image", "inspect", image]
    return subprocess.run(probe, capture_output=True, check=False).returncode == 0


def pull(image: str) -> bool:
    try:
        result = subprocess.run(
            ["docker", "pull", "-q", image],
            capture_output=True,
            timeout=PULL_TIMEOUT_S,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return False
    return result.returncode == 0


def prepare(repo_root: Path) -> str | None:
    """Engine running and base images present; otherwise the reason it cannot be."""
    tool = offline_docker_tool(repo_root)
    missing = [image for image in BASE_IMAGES if not engine_up() or not has_image(image)]
    if engine_up():
        missing = [image for image in missing if not pull(image)]
    if not missing:
        return None
    if not tool.is_file():
        return f"no engine or base images ({', '.join(missing)}) and no {tool} to prepare them"
    log(f"preparing the engine and base images with {tool}")
    result = subprocess.run(
        [str(tool)],
        capture_output=True,
        text=True,
        timeout=OFFLINE_DOCKER_TIMEOUT_S,
        check=False,
    )
    log(result.stderr.strip()[-2000:])
    if result.returncode != 0 or not engine_up():
        return f"{tool} failed ({result.returncode}): {result.stderr[-2000:]}"
    absent = [image for image in BASE_IMAGES if not has_image(image)]
    return f"still missing after {tool}: {', '.join(absent)}" if absent else None


def require(config: Any, repo_root: Path) -> None:
    """The start of every docker fixture: logs shown past pytest's capture, then the engine
    and base images ready, or the test skipped (locally) or failed (in CI)."""
    show_logs_through_capture(config)
    reason = prepare(repo_root)
    if reason:
        unavailable(reason)


def unavailable(reason: str) -> None:
    """Skip locally; fail in CI, where a skip would hide a broken deployment."""
    if os.environ.get("CI"):
        pytest.fail(reason)
    pytest.skip(reason)
