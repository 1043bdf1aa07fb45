"""The SDK's public surface, and that it stays light: no server code, no TensorFlow."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import clients
import clients.cli

REPO_ROOT = Path(__file__).resolve().parents[2]
FORBIDDEN = ("core", "service", "training", "tensorflow", "keras", "matplotlib")


def test_public_names_are_what_all_says() -> None:
    public = {n for n in vars(clients) if not n.startswith("_")} - {
        "cli", "errors", "inputs", "ops", "results", "routes", "plots", "projection",
    }  # fmt: skip
    assert public == set(clients.__all__)
    assert clients.cli.__all__ == ["app", "main"]
    star: dict[str, object] = {}
    exec("from clients import *", star)  # what a star import gives is exactly __all__
    assert set(star) - {"__builtins__"} == set(clients.__all__)


def test_importing_the_sdk_and_cli_loads_no_server_code_and_no_matplotlib() -> None:
    probe = (
        "import sys, clients, clients.cli; "
        f"bad = sorted({{m.split('.')[0] for m in sys.modules}} & set({FORBIDDEN!r})); "
        "print(','.join(bad))"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], cwd=REPO_ROOT, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == ""
