"""Create the peer server's virtual environment and model folder; build its command."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

from benchmarks.servers import ServerSpec

HERE = Path(__file__).resolve().parent
VENV = HERE.parent / ".venv-peer"
#: What the benchmark installs into its own venv (not layerlens dependencies). uvloop 0.22+
#: no longer creates a loop in get_event_loop(), which MLServer 1.7's workers call.
PACKAGES = ("mlserver==1.7.1", "tensorflow-cpu==2.21.*", "uvloop<0.22")
#: MLServer's adaptive batching window. It switches batching off at 0 (layerlens' default),
#: so the peer keeps the 2 ms window it had in every earlier run.
PEER_MAX_BATCH_TIME_MS = 2.0


def ensure_venv() -> Path:
    python = VENV / "bin" / "python"
    if python.exists() and _has_mlserver(python):
        return python
    base = shutil.which("python3.11") or sys.executable
    subprocess.run([base, "-m", "venv", str(VENV)], check=True)
    subprocess.run([str(python), "-m", "pip", "install", "-q", *PACKAGES], check=True)
    return python


def _has_mlserver(python: Path) -> bool:
    done = subprocess.run([str(python), "-c", "import mlserver"], check=False, capture_output=True)
    return done.returncode == 0


def mlserver_spec(
    saved_model: Path,
    work_dir: Path,
    *,
    workers: int,
    max_batch_size: int,
    max_wait_ms: float,
    grpc_port: int | None = None,
) -> ServerSpec:
    """MLServer with adaptive batching and ``workers`` inference processes; its gRPC server
    listens on ``grpc_port``. HTTP, gRPC (when None) and metrics each get their own free
    port when the server starts (``benchmarks.servers.start``): MLServer's metrics server
    otherwise takes its fixed default 8082, which a second run on the machine already holds."""
    python = ensure_venv()
    model_dir = work_dir / "mlserver" / "digits"
    model_dir.mkdir(parents=True, exist_ok=True)
    shutil.copy(HERE / "savedmodel_runtime.py", model_dir / "savedmodel_runtime.py")
    (model_dir / "model-settings.json").write_text(
        json.dumps(
            {
                "name": "digits",
                "implementation": "savedmodel_runtime.SavedModelRuntime",
                "max_batch_size": max_batch_size,
                "max_batch_time": max_wait_ms / 1000,
                "parameters": {"uri": str(saved_model.resolve())},
            }
        )
    )
    settings = {
        "parallel_workers": workers,
        "debug": False,  # no access-log line per request, as for the other servers
        "metrics_endpoint": None,
        "host": "127.0.0.1",
    }
    root = model_dir.parent
    (root / "settings.json").write_text(json.dumps(settings))
    return ServerSpec(
        name="mlserver",
        command=[
            str(python.parent / "mlserver"),
            "start",
            str(root),
        ],
        env={
            "MLSERVER_HTTP_PORT": "{port}",
            "MLSERVER_GRPC_PORT": str(grpc_port) if grpc_port else "{grpc_port}",
            "MLSERVER_METRICS_PORT": "{metrics_port}",
        },
        ready_path="/v2/models/digits/ready",
        workers=workers,
        ready_timeout_s=180.0,
    )
