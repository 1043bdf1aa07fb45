"""The model the benchmark serves: ``digits`` from the repository, trained if missing."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from core.manifest import MANIFEST_FILE, SAVED_MODEL_DIR

MODEL = "digits"
#: Where a stand-in repository is trained (quick profile) when none exists.
FALLBACK_DIR = Path(__file__).resolve().parent / "results" / "models"


def _latest(models_dir: Path) -> Path | None:
    versions = [
        p
        for p in (models_dir / MODEL).glob("*")
        if p.name.isdigit() and (p / MANIFEST_FILE).exists()
    ]
    return max(versions, key=lambda p: int(p.name)) if versions else None


def find_saved_model(models_dir: Path, work_dir: Path) -> tuple[Path, Path, dict[str, object]]:
    """(models dir, digits SavedModel, its manifest); trains a quick digits when absent."""
    version = _latest(models_dir)
    if version is None:
        models_dir = FALLBACK_DIR
        version = _latest(models_dir)
    if version is None:
        print(f"no {MODEL} model found: training a quick one into {models_dir}", flush=True)
        database = f"sqlite:///{work_dir / 'train.db'}"
        command = [sys.executable, "-m", "training", "train", MODEL, "--profile", "quick"]
        command += ["--models-dir", str(models_dir), "--database-url", database]
        subprocess.run(command, check=True)
        version = _latest(models_dir)
        if version is None:
            raise SystemExit(f"training did not produce {models_dir / MODEL}")
    manifest = json.loads((version / MANIFEST_FILE).read_text())
    return models_dir, version / SAVED_MODEL_DIR, manifest
