"""Imported models: every endpoint agrees with Keras' own answers on the user's model."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

from core.manifest import SAVED_MODEL_DIR, TAILS_DIR, Manifest, version_dir
from tests.fixtures.keras_files import ACCEPTANCE, SHAPES, ImportedRepository, inputs_for
from training.importer.graph import RESERVED_PATHS, SEPARATOR

ATOL = 1e-5


def _versions(repo: ImportedRepository, name: str) -> tuple[Manifest, object, keras.Model]:
    folder = version_dir(repo.models_dir, name, 1)
    saved = tf.saved_model.load(str(folder / SAVED_MODEL_DIR))
    original = keras.saving.load_model(repo.files[name], safe_mode=True)
    return Manifest.read(folder), saved, original


def _keras_activation(model: keras.Model, path: str, x: np.ndarray) -> np.ndarray:
    """Layer ``path``'s output from a Keras sub-model of the user's own model (one level of
    nesting: the outer sub-model up to the nested model's input, then the inner one)."""
    parts = [
        p.removesuffix("_layer") if p.removesuffix("_layer") in RESERVED_PATHS else p
        for p in path.split(SEPARATOR)
    ]
    if len(parts) == 1:
        return keras.Model(model.inputs, model.get_layer(parts[0]).output).predict(x, verbose=0)
    block = model.get_layer(parts[0])
    into_block = next(
        keras.Model(model.inputs, t)
        for node in block._inbound_nodes
        for t in node.input_tensors[:1]
        if any(t is u for u in _graph_tensors(model))
    )
    inner = keras.Model(block.inputs, block.get_layer(parts[1]).output)
    return inner.predict(into_block.predict(x, verbose=0), verbose=0)


def _graph_tensors(model: keras.Model) -> list:
    return [t for layer in model.layers for n in layer._inbound_nodes for t in n.output_tensors]


@pytest.mark.parametrize("name", ACCEPTANCE)
def test_imported_endpoints_equal_keras(imported_repository: ImportedRepository, name: str) -> None:
    manifest, saved, original = _versions(imported_repository, name)
    x = inputs_for(name)
    assert manifest.input.shape == SHAPES[name]
    expected = original.predict(x, verbose=0)
    got = saved.predict(tf.constant(x))
    probabilities, logits = got["probabilities"].numpy(), got["logits"].numpy()
    if name == "logits":  # the file's output is logits; probabilities are added
        np.testing.assert_allclose(logits, expected, atol=ATOL)
    else:
        np.testing.assert_allclose(probabilities, expected, atol=ATOL)
    np.testing.assert_allclose(tf.nn.softmax(logits).numpy(), probabilities, atol=ATOL)

    # head(embed(x)) == predict(x)
    embedding = saved.embed(tf.constant(x))["embedding"]
    from_head = saved.head(embedding)
    np.testing.assert_allclose(from_head["probabilities"].numpy(), probabilities, atol=ATOL)
    np.testing.assert_allclose(from_head["logits"].numpy(), logits, atol=ATOL)

    # every listed layer's output is what a Keras sub-model of the user's model gives
    layers = saved.layers(tf.constant(x))
    assert set(layers) == {spec.name for spec in manifest.layers}
    outputs = {"probabilities": probabilities, "logits": logits}
    for spec in manifest.layers:
        want = outputs.get(spec.name)
        want = _keras_activation(original, spec.name, x) if want is None else want
        np.testing.assert_allclose(layers[spec.name].numpy(), want, atol=ATOL, err_msg=spec.name)
        assert tuple(want.shape[1:]) == spec.output_shape
    np.testing.assert_allclose(
        layers[manifest.embedding_layer].numpy(), embedding.numpy(), atol=ATOL
    )
    assert manifest.tails is not None and manifest.embedding_layer in manifest.tails.layers
    assert (version_dir(imported_repository.models_dir, name, 1) / TAILS_DIR).is_dir()


def test_layers_named_by_path_and_the_skip_connection_is_probe_only(
    imported_repository: ImportedRepository,
) -> None:
    cnn, _, _ = _versions(imported_repository, "residual-cnn")
    reasons = {spec.name: spec.probe_only for spec in cnn.layers}
    assert list(reasons) == [
        *("conv_a", "bn", "relu", "conv_b", "add", "gap", "dense", "out"),
        *("logits", "probabilities"),
    ]
    assert [n for n, why in reasons.items() if why] == ["conv_b", "probabilities"]
    assert "branches around it" in reasons["conv_b"]
    assert cnn.embedding_layer == "dense"  # the input of the last Dense layer
    assert cnn.tails is not None and "conv_b" not in cnn.tails.layers

    nested, _, _ = _versions(imported_repository, "nested")
    names = [spec.name for spec in nested.layers]
    assert names == [
        *("pre", "block__d1", "block__d2", "scores", "softmax"),
        *("logits", "probabilities"),
    ]
    assert nested.embedding_layer == "block__d2"

    mlp, _, _ = _versions(imported_repository, "mlp")
    names = [s.name for s in mlp.layers]
    assert names == ["flatten", "hidden", "classes", "logits", "probabilities"]  # no Dropout
    assert mlp.embedding_layer == "hidden"


def test_contract_options_and_output_kind_reach_the_manifest(
    imported_repository: ImportedRepository,
) -> None:
    rgb, _, _ = _versions(imported_repository, "rgb")
    assert rgb.input.kind == "image" and rgb.input.shape == (32, 32, 3)
    assert rgb.input.value_range == (0.0, 255.0) and rgb.input.scaling == "inside the model"
    assert rgb.input.image_fit == "pad-resize" and rgb.input.image_polarity is None
    assert rgb.compiled is not None and rgb.architecture == "imported"
    assert rgb.class_names == ("0", "1", "2")
    assert rgb.training.extra["output"] == "probabilities"
    logits, _, _ = _versions(imported_repository, "logits")
    assert logits.training.extra["output"] == "logits"
    # a user layer named like a predict output keeps its own name apart
    assert [s.name for s in logits.layers] == ["hidden", "logits_layer", "logits", "probabilities"]
    assert logits.input.kind == "vector" and logits.dataset.name == "none"
