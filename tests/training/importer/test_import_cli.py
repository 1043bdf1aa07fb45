"""`layerlens-train import` end to end: options, data, stored evaluations, refusals."""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np
from sqlalchemy import create_engine
from typer.testing import CliRunner

from core import datasets
from core.db import store
from core.manifest import Manifest, version_dir
from tests.fixtures.keras_files import build_file
from training.cli import app


def _run(*args: str | Path) -> object:
    return CliRunner().invoke(app, ["import", *map(str, args)])


def test_task_import_stores_the_evaluation_and_indexes(tmp_path: Path) -> None:
    path = build_file("mlp", tmp_path / "files")
    db = f"sqlite:///{tmp_path / 'metrics.db'}"
    result = _run(
        path, "--name", "my-digits", "--task", "sklearn-digits",
        "--models-dir", tmp_path / "models", "--data-dir", tmp_path / "data",
        "--database-url", db,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    manifest = Manifest.read(version_dir(tmp_path / "models", "my-digits", 1))
    assert manifest.task == "sklearn-digits" and manifest.class_names[:2] == ("0", "1")
    assert manifest.input.value_range == (0.0, 16.0) and manifest.dataset.name == "sklearn-digits"
    assert {i.dataset for i in manifest.neighbor_indexes} >= {"sklearn-digits-train"}
    test = datasets.load_dataset("sklearn-digits", tmp_path / "data").test
    model = keras.saving.load_model(path)
    want = float((model.predict(test.x.astype(np.float32), verbose=0).argmax(1) == test.y).mean())
    engine = create_engine(db)
    stored = store.get_evaluations(engine, "my-digits", 1, kind="test")
    assert stored[0].dataset == "sklearn-digits-test"
    assert abs(stored[0].data["accuracy"] - want) < 1e-9
    assert f"{100 * want:.2f}%" in result.output


def test_own_test_data_and_options(tmp_path: Path) -> None:
    path = build_file("nested", tmp_path / "files")
    rng = np.random.default_rng(0)
    x, y = rng.uniform(-2, 2, (40, 10)).astype(np.float32), rng.integers(0, 3, 40)
    np.savez(tmp_path / "held-out.npz", x=x, y=y)
    (tmp_path / "classes.txt").write_text("cat\ndog\nbird\n")
    db = f"sqlite:///{tmp_path / 'metrics.db'}"
    result = _run(
        path, "--name", "mine", "--test-data", tmp_path / "held-out.npz",
        "--classes", tmp_path / "classes.txt", "--input-range", "-2-2",
        "--embedding", "block__d1", "--models-dir", tmp_path / "models",
        "--database-url", db,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    manifest = Manifest.read(version_dir(tmp_path / "models", "mine", 1))
    assert manifest.class_names == ("cat", "dog", "bird")
    assert manifest.embedding_layer == "block__d1" and manifest.input.value_range == (-2.0, 2.0)
    model = keras.saving.load_model(path)
    want = float((model.predict(x, verbose=0).argmax(1) == y).mean())
    stored = store.get_evaluations(create_engine(db), "mine", 1, kind="test")
    assert stored[0].dataset == "user-held-out-test"
    assert abs(stored[0].data["accuracy"] - want) < 1e-9


def test_refusal_exits_2_with_the_reason_and_writes_nothing(tmp_path: Path) -> None:
    path = build_file("residual-cnn", tmp_path / "files")
    result = _run(path, "--name", "x", "--classes", "a,b", "--models-dir", tmp_path / "models")
    assert result.exit_code == 2
    assert "refused:" in result.output and "4 classes but 2 class names" in result.output
    assert not (tmp_path / "models" / "x").exists() or not any((tmp_path / "models/x").iterdir())
    bad = _run(path, "--name", "x", "--input-range", "255-0", "--models-dir", tmp_path / "m")
    assert bad.exit_code == 2 and "expected LOW-HIGH" in bad.output
