"""Batched integrated gradients: a path computed beside other requests' is its own, and the
gradient functions are traced once whatever the batch size."""

from __future__ import annotations

import numpy as np
import pytest

from service.features.explain import methods, paths
from tests.service.test_explain_methods import cubic


@pytest.mark.parametrize("rule", ["adaptive", "trapezoid", "gauss-legendre"])
def test_paths_computed_together_equal_each_alone(rule: methods.Rule) -> None:
    rng = np.random.default_rng(1)
    x = rng.uniform(0.5, 2.0, size=(5, 3, 4)).astype(np.float32)
    ends = rng.uniform(0.0, 0.5, size=(5, 3, 4)).astype(np.float32)
    classes = np.array([0, 3, 1, 2, 9])
    together = paths.path_run(cubic, (3, 4), steps=12, rule=rule)(paths.pack(x, ends, classes))
    for i in range(len(x)):
        (alone,) = methods.integrated_gradients(
            cubic, x[i : i + 1], ends[i : i + 1], classes[i : i + 1], steps=12, rule=rule
        )
        np.testing.assert_array_equal(together["alphas"][i], alone.alphas)
        np.testing.assert_array_equal(together["path_values"][i], alone.path_values)
        np.testing.assert_array_equal(together["attributions"][i], alone.attributions)
        assert together["value"][i] == alone.value
        assert together["baseline_value"][i] == alone.baseline_value


def test_pack_keeps_inputs_baselines_and_classes_exactly() -> None:
    rng = np.random.default_rng(2)
    x = rng.normal(size=(3, 2, 5)).astype(np.float32)
    ends = rng.normal(size=(3, 2, 5)).astype(np.float32)
    classes = np.array([0, 999, 17], np.int32)
    got_x, got_ends, got_classes = paths.unpack(paths.pack(x, ends, classes), (2, 5))
    np.testing.assert_array_equal(got_x, x)
    np.testing.assert_array_equal(got_ends, ends)
    np.testing.assert_array_equal(got_classes, classes)


def test_a_gradient_function_is_traced_once_for_every_batch_size(model_repository) -> None:
    import tensorflow as tf

    from core.manifest import SAVED_MODEL_DIR
    from service.runtime.gradients import Gradients

    version_dir = model_repository.models_dir / "digits" / "1"
    gradients = Gradients(tf.saved_model.load(str(version_dir / SAVED_MODEL_DIR)))
    grad = gradients.of("input", "probability")
    rng = np.random.default_rng(3)
    answers = {}
    for rows in (1, 9, 4, 5, 36, 1):
        x = rng.uniform(0, 255, size=(rows, 28, 28)).astype(np.float32)
        f, g = grad(x, np.arange(rows, dtype=np.int32) % 10)
        assert f.shape == (rows,) and g.shape == (rows, 28, 28)
        answers[rows] = (x, f)
    assert gradients.traces == 1
    gradients.of("input", "logit")(answers[1][0], np.zeros(1, np.int32))
    assert gradients.traces == 2
    # the traced graph is the model's: f is the probability the predict endpoint gives
    x, f = answers[36]
    model = tf.saved_model.load(str(version_dir / SAVED_MODEL_DIR))
    probabilities = model.predict(tf.constant(x))["probabilities"].numpy()
    np.testing.assert_allclose(f, probabilities[np.arange(36), np.arange(36) % 10], rtol=1e-5)
