"""Helpers of the service tests: real image and .npy bytes, error-shape checks, model copies,
``python -m service`` in a subprocess.

Imported by package path (``from tests.service.helpers import ...``), as every test helper is.
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import numpy as np
from PIL import Image

from tests.fixtures.server import free_socket

REPO_ROOT = Path(__file__).resolve().parents[2]


def encode_npy(array: np.ndarray) -> bytes:
    """``.npy`` bytes of ``array``, never pickled (what the service's ``.npy`` codec reads)."""
    buffer = io.BytesIO()
    np.save(buffer, np.asarray(array), allow_pickle=False)
    return buffer.getvalue()


def encode_image(image: Image.Image, image_format: str = "PNG", **params: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, image_format, **params)
    return buffer.getvalue()


def image_bytes(array: np.ndarray, fmt: str = "PNG", mode: str = "L") -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(np.asarray(array, dtype=np.uint8)).convert(mode).save(buffer, format=fmt)
    return buffer.getvalue()


def mnist_example(http: httpx.Client, index: int) -> tuple[list, int]:
    response = http.get(f"/v1/datasets/mnist-test/{index}")
    assert response.status_code == 200, response.text
    body = response.json()
    return body["instance"], body["label"]


def assert_error(response: httpx.Response, status: int, *words: str) -> dict:
    """A 4xx in the house shape whose message names what is wrong."""
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error", "code"}, body
    for word in words:
        assert word.lower() in body["error"].lower(), (word, body["error"])
    return body


def histogram_totals(http: httpx.Client, metric: str, model: str) -> tuple[float, float]:
    """(count, sum) of a histogram's series for ``model`` on ``/metrics``."""
    count = total = 0.0
    for line in http.get("/metrics").text.splitlines():
        if f'model="{model}"' not in line:
            continue
        if line.startswith(f"{metric}_count"):
            count = float(line.rsplit(" ", 1)[1])
        elif line.startswith(f"{metric}_sum"):
            total = float(line.rsplit(" ", 1)[1])
    return count, total


def copy_versions(source: Path, target: Path, versions: dict[str, list[int]]) -> Path:
    """A models dir holding copies of some versions of the test repository."""
    for name, numbers in versions.items():
        for version in numbers:
            shutil.copytree(source / name / str(version), target / name / str(version))
    return target


def start_service(
    model_repository: Any, models_dir: Path, env: dict[str, str], *, output: int
) -> tuple[subprocess.Popen[bytes], int]:
    """``python -m service`` on a free port over ``models_dir``; ``env`` adds settings."""
    sock = free_socket()
    port = sock.getsockname()[1]
    sock.close()
    process = subprocess.Popen(
        [sys.executable, "-m", "service"],
        cwd=REPO_ROOT,
        env={
            **os.environ,
            "LAYERLENS_MODELS_DIR": str(models_dir),
            "LAYERLENS_DATA_DIR": str(model_repository.data_dir),
            "LAYERLENS_DATABASE_URL": model_repository.database_url,
            "LAYERLENS_PORT": str(port),
            "LAYERLENS_GRACEFUL_TIMEOUT_S": "60",
            "LAYERLENS_GRPC_PORT": "0",  # a free port: test servers must not contend for 8001
            **env,
        },
        stdout=output,
        stderr=subprocess.STDOUT,
    )
    return process, port
