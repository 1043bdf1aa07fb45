"""Options for what the file cannot say: scaling added in front, free input sizes fixed."""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf
from keras import layers

from core.manifest import SAVED_MODEL_DIR, version_dir
from tests.fixtures.keras_files import build_file, inputs_for, save
from training.importer import ImportOptions, ImportRefused, import_model


def _saved(models_dir: Path, name: str) -> object:
    return tf.saved_model.load(str(version_dir(models_dir, name, 1) / SAVED_MODEL_DIR))


def test_scale_to_adds_the_scaling_the_model_lacks(tmp_path: Path) -> None:
    path = build_file("residual-cnn", tmp_path)  # trained on 0-1, callers send 0-255
    manifest = import_model(
        path,
        name="cnn",
        models_dir=tmp_path / "models",
        options=ImportOptions(input_range=(0.0, 255.0), scale_to=(0.0, 1.0)),
        compile_for_litert=False,
    )
    assert manifest.input.value_range == (0.0, 255.0)
    assert manifest.input.scaling == "x * 0.00392157 + 0 (added at import)"
    x = inputs_for("residual-cnn")
    saved = _saved(tmp_path / "models", "cnn")  # held: its variables live as long as it
    got = saved.predict(tf.constant(x * 255))["probabilities"]
    want = keras.saving.load_model(path).predict(x, verbose=0)
    np.testing.assert_allclose(got.numpy(), want, atol=1e-5)


def test_free_input_sizes_need_input_shape(tmp_path: Path) -> None:
    x = keras.Input((None, None, 3))
    h = layers.Conv2D(4, 3, activation="relu", name="conv")(x)
    h = layers.GlobalAveragePooling2D(name="gap")(h)
    path = save(keras.Model(x, layers.Dense(2, activation="softmax")(h)), tmp_path, "free")
    with pytest.raises(ImportRefused, match="has free sizes; fix them with --input-shape"):
        import_model(path, name="free", models_dir=tmp_path / "models")
    manifest = import_model(
        path,
        name="free",
        models_dir=tmp_path / "models",
        options=ImportOptions(input_shape=(20, 30, 3)),
        compile_for_litert=False,
    )
    assert manifest.input.shape == (20, 30, 3) and manifest.embedding_layer == "gap"
    batch = np.random.default_rng(0).uniform(0, 1, (2, 20, 30, 3)).astype(np.float32)
    saved = _saved(tmp_path / "models", "free")
    got = saved.predict(tf.constant(batch))["probabilities"]
    want = keras.saving.load_model(path).predict(batch, verbose=0)
    np.testing.assert_allclose(got.numpy(), want, atol=1e-5)
