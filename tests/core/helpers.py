"""Helpers of the core tests: separate Python processes racing on one database."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]


def run_python_at_once(*arg_lists: list[str], timeout: float = 120) -> list[str]:
    """Start ``python <args>`` for every list before waiting for any, as service workers
    and the trainer start together; each must exit 0. Returns their standard outputs."""
    runs = [
        subprocess.Popen(
            [sys.executable, *args],
            cwd=REPO_ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for args in arg_lists
    ]
    outputs = []
    for run in runs:
        out, err = run.communicate(timeout=timeout)
        assert run.returncode == 0, err
        outputs.append(out)
    return outputs
