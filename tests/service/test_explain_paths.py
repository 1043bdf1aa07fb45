"""Batched integrated gradients: a path computed beside other requests' is its own, the
gradient functions are traced once whatever the batch size, and the adaptive rule run as
one TensorFlow graph places the points the round-by-round rule places."""

from __future__ import annotations

import threading
from typing import Any

import numpy as np
import pytest

from service.features.explain import methods, paths
from service.runtime.gradients import MAX_PATH_GRAPHS, GradientFunction
from tests.service.test_explain_methods import WEIGHTS, cubic


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


def tensor_cubic(x: Any, classes: Any) -> tuple[Any, Any]:
    """``cubic`` over tensors."""
    import tensorflow as tf

    w = tf.constant(WEIGHTS)
    f = tf.reduce_sum(tf.reshape(w * x**3, (tf.shape(x)[0], -1)), axis=1)
    return f + tf.cast(classes, tf.float32), 3 * w * x**2


def tensor_flat(x: Any, classes: Any) -> tuple[Any, Any]:
    """A score that never changes: every segment's error is 0, so every round's choice
    is decided by the tie rule (the earliest segments first)."""
    import tensorflow as tf

    return tf.cast(classes, tf.float32) + 0 * tf.reduce_sum(x, axis=(1, 2)), tf.zeros_like(x)


@pytest.mark.parametrize("score", [tensor_cubic, tensor_flat])
@pytest.mark.parametrize("steps", [1, 8, 12, 50])
def test_the_one_graph_adaptive_rule_places_the_round_by_round_rules_points(
    score: Any, steps: int
) -> None:
    grad = GradientFunction(score, lambda: None)
    rng = np.random.default_rng(4)
    x = rng.uniform(0.5, 2.0, size=(5, 3, 4)).astype(np.float32)
    ends = rng.uniform(0.0, 0.5, size=(5, 3, 4)).astype(np.float32)
    classes = np.array([0, 3, 1, 2, 9], np.int32)
    one_graph = grad.adaptive_paths(steps)(x, ends, classes)
    by_rounds = methods.integrated_gradients(grad, x, ends, classes, steps=steps, rule="adaptive")
    assert one_graph["alphas"].shape == (5, steps + 1)
    for i, path in enumerate(by_rounds):
        np.testing.assert_array_equal(one_graph["alphas"][i], path.alphas)
        np.testing.assert_array_equal(one_graph["path_values"][i], path.path_values)
        np.testing.assert_allclose(one_graph["attributions"][i], path.attributions, rtol=1e-6)
        assert one_graph["value"][i] == path.value
        assert one_graph["baseline_value"][i] == path.baseline_value


def test_a_sweep_of_step_counts_traces_a_bounded_number_of_path_graphs() -> None:
    """Each step count is a graph to trace (about half a second on a real model): past
    ``MAX_PATH_GRAPHS`` of them a path takes the round-by-round rule, with the same answer."""
    traces: list[int] = []
    grad = GradientFunction(tensor_cubic, lambda: traces.append(1))
    rng = np.random.default_rng(6)
    x = rng.uniform(0.5, 2.0, size=(2, 3, 4)).astype(np.float32)
    ends = np.zeros_like(x)
    classes = np.array([1, 4], np.int32)
    rows = paths.pack(x, ends, classes)
    for steps in range(10, 10 + MAX_PATH_GRAPHS):
        assert grad.adaptive_paths(steps) is not None
        paths.path_run(grad, (3, 4), steps=steps, rule="adaptive")(rows)
    assert len(traces) == MAX_PATH_GRAPHS + 1  # and the gradient graph they call
    assert grad.adaptive_paths(10) is not None  # a step count it has stays
    assert grad.adaptive_paths(99) is None
    swept = paths.path_run(grad, (3, 4), steps=99, rule="adaptive")(rows)
    assert len(traces) == MAX_PATH_GRAPHS + 1
    by_rounds = methods.integrated_gradients(grad, x, ends, classes, steps=99, rule="adaptive")
    np.testing.assert_array_equal(swept["alphas"], np.stack([p.alphas for p in by_rounds]))


def test_a_models_paths_run_as_one_graph_with_the_round_by_round_answers(
    model_repository,
) -> None:
    """On a trained model, from a fresh version: the first call traces the path graph and
    the gradient graph inside it (a deadlock once, under the trace lock), then answers as
    the round-by-round rule does; ``path_run`` takes the graph for the adaptive rule."""
    import tensorflow as tf

    from core.manifest import SAVED_MODEL_DIR
    from service.runtime.gradients import Gradients

    version_dir = model_repository.models_dir / "digits" / "1"
    gradients = Gradients(tf.saved_model.load(str(version_dir / SAVED_MODEL_DIR)))
    grad = gradients.of("input", "probability")
    rng = np.random.default_rng(5)
    x = rng.uniform(0, 255, size=(3, 28, 28)).astype(np.float32)
    ends = np.zeros_like(x)
    classes = np.array([7, 2, 1], np.int32)
    answers: list[dict[str, np.ndarray]] = []
    first = threading.Thread(
        target=lambda: answers.append(paths.path_run(grad, (28, 28), steps=20, rule="adaptive")(
            paths.pack(x, ends, classes)
        )),
        daemon=True,
    )  # fmt: skip
    first.start()
    first.join(timeout=120)
    assert answers, "the first path never finished"
    assert gradients.traces == 2  # the gradient graph and the path graph around it
    by_rounds = methods.integrated_gradients(grad, x, ends, classes, steps=20, rule="adaptive")
    for i, path in enumerate(by_rounds):
        np.testing.assert_array_equal(answers[0]["alphas"][i], path.alphas)
        np.testing.assert_allclose(answers[0]["path_values"][i], path.path_values, rtol=1e-6)
        np.testing.assert_allclose(
            answers[0]["attributions"][i], path.attributions, rtol=1e-5, atol=1e-9
        )
    assert gradients.traces == 2  # the round-by-round rule reused the gradient graph
