"""The kserve SDK in a venv of its own, created on first use, as the benchmark does for
MLServer (benchmarks/peer/setup.py): kserve 0.21 asks for protobuf < 7, which layerlens'
environment (protobuf 7 for grpcio-health-checking) cannot hold beside it. The venv lives
in tests/docker/.venv-kserve (gitignored); installing it takes about two minutes once."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
VENV = HERE / ".venv-kserve"
PACKAGES = ("kserve==0.21.0",)
SCRIPT = HERE / "kserve_client.py"
INSTALL_TIMEOUT_S = 900.0


def ensure_venv() -> Path:
    python = VENV / "bin" / "python"
    probe = [str(python), "-c", "import kserve"]
    if python.exists() and subprocess.run(probe, capture_output=True, check=False).returncode == 0:
        return python
    base = shutil.which("python3.11") or sys.executable
    subprocess.run([base, "-m", "venv", str(VENV)], check=True)
    subprocess.run(
        [str(python), "-m", "pip", "install", "-q", *PACKAGES],
        check=True,
        timeout=INSTALL_TIMEOUT_S,
    )
    return python


def call(url: str, model: str, tensor: dict[str, Any]) -> dict[str, Any]:
    """Run kserve_client.py in the SDK's venv; its JSON answer."""
    request = json.dumps({"url": url, "model": model, "input": tensor})
    done = subprocess.run(
        [str(ensure_venv()), str(SCRIPT)],
        input=request,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, f"kserve client failed:\n{done.stderr[-3000:]}"
    return json.loads(done.stdout)
