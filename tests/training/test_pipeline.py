"""The training pipeline on real data with the quick profile: idempotent, seeded, stored."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import get_args

import numpy as np
import pytest
import tensorflow as tf
from sklearn.metrics import confusion_matrix
from typer.testing import CliRunner

from core.datasets import load_split
from core.db import make_engine, store, upgrade
from core.manifest import SAVED_MODEL_DIR, Manifest, list_versions
from core.settings import TrainProfile
from training import pipeline
from training.cli import app
from training.recipes import get_spec

QUICK = pipeline.PROFILES["quick"]


def _run(name: str, root: Path, url: str, data_dir: Path, **kwargs):
    upgrade(url)
    engine = make_engine(url)
    try:
        cache = pipeline.DataCache(data_dir, seed=kwargs.pop("seed", 0))
        return pipeline.run_model(
            get_spec(name),
            models_dir=root / "models",
            engine=engine,
            cache=cache,
            profile=QUICK,
            seed=cache.seed,
            **kwargs,
        ), engine
    finally:
        engine.dispose()


def _probabilities(version_dir: Path, x: np.ndarray) -> np.ndarray:
    """The exported model's answers, computed here rather than by training.evaluate."""
    loaded = tf.saved_model.load(str(version_dir / SAVED_MODEL_DIR))
    parts = [loaded.predict(tf.constant(part, tf.float32)) for part in np.array_split(x, 8)]
    return np.concatenate([part["probabilities"].numpy() for part in parts])


def test_train_export_evaluate_and_store(database_url: str, tmp_path: Path, data_dir: Path):
    outcome, engine = _run("digits", tmp_path, database_url, data_dir)
    assert outcome.status == "trained" and outcome.version == 1

    kinds = {r.kind: r for r in store.get_evaluations(engine, "digits", 1)}
    assert set(kinds) == {
        "train", "validation", "test", "history", "cross-dataset", "agreement", "map", "ood",
        "robustness",  # a digits model: scored on the held-out canvas and writers sets
    }  # fmt: skip
    test = kinds["test"].data
    assert outcome.test_accuracy == test["accuracy"]
    # The stored figures against the saved model run on the test split here: at most one
    # example may land elsewhere (float32 sums in other batch sizes can break a near tie).
    mnist = load_split("mnist", "test", data_dir)
    predicted = _probabilities(tmp_path / "models" / "digits" / "1", mnist.x).argmax(axis=1)
    assert test["num_examples"] == len(mnist.y) == 10_000
    assert test["accuracy"] == pytest.approx(np.mean(predicted == mnist.y), abs=1.01e-4)
    assert test["accuracy"] > 0.5
    expected = confusion_matrix(mnist.y, predicted, labels=range(10))
    assert np.abs(np.array(test["confusion_matrix"]) - expected).sum() <= 2
    hist = test["confidence_histogram"]
    assert sum(hist["correct"]) + sum(hist["incorrect"]) == 10_000
    assert kinds["history"].data["epoch"] == [1, 2]
    cross = kinds["cross-dataset"]
    assert cross.dataset == "fashion-mnist-test"
    fashion = load_split("fashion-mnist", "test", data_dir)
    confidence = _probabilities(tmp_path / "models" / "digits" / "1", fashion.x).max(axis=1)
    assert cross.data["mean_max_probability"] == pytest.approx(confidence.mean(), rel=1e-5)
    assert store.get_model_version(engine, "digits", 1) is not None
    # trained with augmentation, exported without it: the reports' network only
    manifest = Manifest.read(tmp_path / "models" / "digits" / "1")
    assert [layer.name for layer in manifest.layers] == [
        "flatten",
        "embedding",
        "logits",
        "probabilities",
    ]


def test_rerun_skips_and_force_makes_a_new_version(tmp_path: Path, data_dir: Path):
    url = f"sqlite:///{tmp_path / 'm.db'}"
    first, _ = _run("xor", tmp_path, url, data_dir)
    again, engine = _run("xor", tmp_path, url, data_dir)
    assert (first.status, again.status) == ("trained", "skipped")
    assert again.test_accuracy == first.test_accuracy
    assert len(store.get_evaluations(engine, "xor", 1, kind="test")) == 1
    forced, engine = _run("xor", tmp_path, url, data_dir, force=True)
    assert (forced.status, forced.version) == ("trained", 2)
    assert list_versions(tmp_path / "models", "xor") == [1, 2]
    assert store.has_evaluation(engine, "xor", 2, "test")


def test_exported_but_unevaluated_version_is_evaluated_not_retrained(
    tmp_path: Path, data_dir: Path
):
    """A crash between export and the DB write: the next run finishes the job."""
    url = f"sqlite:///{tmp_path / 'm.db'}"
    cache = pipeline.DataCache(data_dir, seed=0)
    manifest = pipeline.train_and_export(
        get_spec("sklearn-digits"),
        cache.get("sklearn-digits"),
        models_dir=tmp_path / "models",
        profile=QUICK,
        seed=0,
    )
    outcome, engine = _run("sklearn-digits", tmp_path, url, data_dir)
    assert (outcome.status, outcome.version) == ("evaluated", manifest.version)
    assert store.has_evaluation(engine, "sklearn-digits", 1, "test")


def test_same_seed_same_metrics(tmp_path: Path, data_dir: Path):
    a, engine_a = _run("digits", tmp_path / "a", f"sqlite:///{tmp_path / 'a.db'}", data_dir)
    b, engine_b = _run("digits", tmp_path / "b", f"sqlite:///{tmp_path / 'b.db'}", data_dir)
    test_a = store.get_evaluations(engine_a, "digits", 1, kind="test")[0].data
    test_b = store.get_evaluations(engine_b, "digits", 1, kind="test")[0].data
    assert test_a == test_b
    assert a.test_accuracy == b.test_accuracy


def test_manifest_records_the_recipe(tmp_path: Path, data_dir: Path):
    _, engine = _run("xor", tmp_path, f"sqlite:///{tmp_path / 'm.db'}", data_dir)
    manifest = Manifest.read(tmp_path / "models" / "xor" / "1")
    assert manifest.training.params == 32  # the report's 32-parameter network
    assert manifest.training.seed == 0 and manifest.training.extra["profile"] == "quick"
    assert manifest.dataset.name == "xor"
    assert manifest.class_names == ("0", "1")
    assert {"tensorflow", "keras", "numpy", "python"} <= set(manifest.framework)
    assert manifest.reference["test_accuracy"] == pytest.approx(0.91)
    (sweep,) = store.get_evaluations(engine, "xor", 1, kind="sweep")
    assert sweep.dataset == "xor-test" and sweep.data["parameter"] == "hidden_width"
    assert [p["value"] for p in sweep.data["points"]] == [1, 2, 3, 4, 6]
    assert [p["params"] for p in sweep.data["points"]] == [7, 12, 17, 22, 32]  # 5w + 2


def test_every_profile_name_settings_accept_has_a_profile() -> None:
    assert set(pipeline.PROFILES) == set(get_args(TrainProfile))
    assert all(name == profile.name for name, profile in pipeline.PROFILES.items())


def test_cli_trains_one_model_and_rejects_unknown_ones(tmp_path: Path, data_dir: Path):
    args = [
        sys.executable,
        "-m",
        "training",
        "train",
        "--profile",
        "quick",
        "--models-dir",
        str(tmp_path / "models"),
        "--data-dir",
        str(data_dir),
        "--database-url",
        f"sqlite:///{tmp_path / 'm.db'}",
    ]
    done = subprocess.run(
        [*args, "xor", "--json", str(tmp_path / "s.json")],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert "xor" in done.stdout and "summary" in done.stdout
    assert (tmp_path / "s.json").is_file()
    bad = subprocess.run(
        [*args, "no-such-model"], capture_output=True, text=True, timeout=120, check=False
    )
    assert bad.returncode == 2
    assert "unknown model 'no-such-model'" in bad.stdout + bad.stderr


def test_cli_refuses_an_unknown_profile_before_training(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app, ["train", "xor", "--profile", "medium", "--models-dir", str(tmp_path / "m")]
    )
    assert result.exit_code == 2
    assert "train_profile" in result.output
    assert not (tmp_path / "m").exists()
