"""`layerlens-train train --only-defaults`: what `make run` waits for, and nothing twice."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from core.manifest import versions_on_disk
from core.training_status import STATUS_FILE
from tests.service.helpers import copy_versions
from tests.training.helpers import copy_database
from training.cli import app

DEFAULTS = {"digits": [1, 2], "fashion": [1], "xor": [1], "sklearn-digits": [1]}


def test_a_second_run_trains_nothing(model_repository: Any, tmp_path: Path) -> None:
    models_dir = copy_versions(model_repository.models_dir, tmp_path / "models", DEFAULTS)
    database = copy_database(model_repository, tmp_path)
    result = CliRunner().invoke(
        app,
        [
            "train",
            "--only-defaults",
            "--models-dir",
            str(models_dir),
            "--data-dir",
            str(model_repository.data_dir),
            "--database-url",
            f"sqlite:///{database}",
            "--json",
            str(tmp_path / "summary.json"),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "every model asked for is trained" in result.output
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert {row["model"]: row["status"] for row in summary["models"]} == dict.fromkeys(
        DEFAULTS, "skipped"
    )
    assert versions_on_disk(models_dir) == DEFAULTS
    assert not (models_dir / STATUS_FILE).exists()


def test_named_models_and_only_defaults_exclude_each_other(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app, ["train", "xor", "--only-defaults", "--models-dir", str(tmp_path)]
    )
    assert result.exit_code == 2 and "not both" in result.output
