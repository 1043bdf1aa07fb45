"""Refused imports: a clear reason, nothing run that the file carries, the repository as it was."""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf
from keras import layers

from core.manifest import SAVED_MODEL_DIR, Manifest, version_dir
from tests.fixtures.custom_layers import Doubling
from tests.fixtures.keras_files import build_file, save
from training.importer import ImportOptions, ImportRefused, import_model


def _tree(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*")) if folder.exists() else []


def _refused(path: Path, models_dir: Path, match: str, **options: object) -> None:
    before = _tree(models_dir)
    with pytest.raises(ImportRefused, match=match):
        import_model(
            path,
            name="mine",
            models_dir=models_dir,
            options=ImportOptions(**options),
            compile_for_litert=False,
        )
    assert _tree(models_dir) == before  # no version, no staging folder left behind


@pytest.fixture
def models_dir(tmp_path: Path) -> Path:
    """A repository that already holds one good version (it must stay as it is)."""
    folder = tmp_path / "models"
    import_model(
        build_file("logits", tmp_path / "files"),
        name="mine",
        models_dir=folder,
        compile_for_litert=False,
    )
    return folder


def test_lambda_layer_is_refused_and_never_run(tmp_path: Path, models_dir: Path) -> None:
    marker = tmp_path / "lambda-ran"
    where = str(marker)
    x = keras.Input((4,))
    h = layers.Lambda(lambda t: (__import__("pathlib").Path(where).touch(), t)[1])(x)
    model = keras.Model(x, layers.Dense(3, activation="softmax")(h))
    path = save(model, tmp_path / "files", "lambda")
    marker.unlink()  # building the model ran it once, here in the test
    _refused(path, models_dir, r"layer 'lambda' is a Lambda: it holds Python code")
    assert not marker.exists()


def _custom_model(tmp_path: Path) -> Path:
    x = keras.Input((4,))
    h = Doubling(name="doubling")(x)
    return save(keras.Model(x, layers.Dense(3, activation="softmax")(h)), tmp_path, "custom")


def test_custom_layer_needs_custom_objects(tmp_path: Path, models_dir: Path) -> None:
    path = _custom_model(tmp_path / "files")
    _refused(path, models_dir, r"custom class 'Doubling'.*--custom-objects MODULE")
    manifest = import_model(
        path,
        name="mine",
        models_dir=models_dir,
        options=ImportOptions(custom_objects="tests.fixtures.custom_layers"),
        compile_for_litert=False,
    )
    assert manifest.version == 2 and manifest.layers[0].kind == "Doubling"
    x = np.random.default_rng(0).normal(size=(3, 4)).astype(np.float32)
    saved = tf.saved_model.load(str(version_dir(models_dir, "mine", 2) / SAVED_MODEL_DIR))
    original = keras.saving.load_model(path, custom_objects={"Doubling": Doubling})
    np.testing.assert_allclose(
        saved.predict(tf.constant(x))["probabilities"], original.predict(x, verbose=0), atol=1e-6
    )


def test_regressor_is_refused(tmp_path: Path, models_dir: Path) -> None:
    x = keras.Input((5,))
    model = keras.Model(x, layers.Dense(1)(layers.Dense(4, activation="relu")(x)))
    path = save(model, tmp_path / "files", "regressor")
    _refused(path, models_dir, r"not a classifier: the output has a single unit")


def test_sigmoid_scores_are_refused(tmp_path: Path, models_dir: Path) -> None:
    x = keras.Input((5,))
    model = keras.Model(x, layers.Dense(3, activation="sigmoid", name="multi")(x))
    path = save(model, tmp_path / "files", "sigmoid")
    _refused(path, models_dir, r"last layer 'multi' ends in 'sigmoid'")


def test_two_input_model_is_refused(tmp_path: Path, models_dir: Path) -> None:
    a, b = keras.Input((3,)), keras.Input((2,))
    h = layers.Concatenate()([a, b])
    path = save(keras.Model([a, b], layers.Dense(2, activation="softmax")(h)), tmp_path, "two")
    _refused(path, models_dir, r"the model has 2 inputs; layerlens serves models with a single")


def test_wrong_class_names_and_embedding_are_refused(tmp_path: Path, models_dir: Path) -> None:
    path = build_file("residual-cnn", tmp_path / "files")
    _refused(path, models_dir, r"outputs 4 classes but 2 class names", classes=("a", "b"))
    not_a_cut = r"'conv_b' cannot start a head: the graph branches"
    _refused(path, models_dir, not_a_cut, embedding="conv_b")
    _refused(path, models_dir, r"--embedding 'nope' is not a probe-able layer", embedding="nope")
    assert Manifest.read(version_dir(models_dir, "mine", 1)).version == 1


def test_not_a_keras_file_is_refused(tmp_path: Path, models_dir: Path) -> None:
    bogus = tmp_path / "model.keras"
    bogus.write_bytes(b"not a zip")
    _refused(bogus, models_dir, r"not a readable Keras model file")


def test_legacy_h5_is_imported_and_its_lambda_refused(tmp_path: Path, models_dir: Path) -> None:
    x = keras.Input((4,))
    h = layers.Dense(5, activation="relu", name="hidden")(x)
    model = keras.Model(x, layers.Dense(3, activation="softmax", name="out")(h))
    path = tmp_path / "legacy.h5"
    model.save(path)
    manifest = import_model(path, name="mine", models_dir=models_dir, compile_for_litert=False)
    saved = tf.saved_model.load(str(version_dir(models_dir, "mine", 2) / SAVED_MODEL_DIR))
    batch = np.random.default_rng(1).normal(size=(3, 4)).astype(np.float32)
    got = saved.predict(tf.constant(batch))["probabilities"]
    np.testing.assert_allclose(got, model.predict(batch, verbose=0), atol=1e-6)
    assert manifest.embedding_layer == "hidden"
    code = keras.Model(x, layers.Dense(3, activation="softmax")(layers.Lambda(lambda t: t + 1)(x)))
    code.save(tmp_path / "lambda.h5")
    _refused(tmp_path / "lambda.h5", models_dir, r"is a Lambda: it holds Python code")
