"""XLA-compiled integrated-gradient paths: compiled off the request, adopted only when they
place the graph's points and measure faster, and then the answer a client gets is the one
the graph gave (alphas exactly, values up to float rounding)."""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import pytest

from service.features.explain import methods
from service.runtime import compiled_paths
from service.runtime.compiled_paths import CompiledPaths, bucket, pad
from service.runtime.gradients import GradientFunction
from tests.service.test_explain_methods import WEIGHTS
from tests.service.test_explain_paths import tensor_cubic, tensor_flat


def tensor_exp(x: Any, classes: Any) -> tuple[Any, Any]:
    """A score whose curvature grows along every path here (positive weights, inputs above
    their baselines), so no two segments' errors tie: on ``tensor_cubic`` some do, up to
    float rounding, and each way of rounding (eager, graph, XLA) halves another one of
    them, which is why adoption checks the points (``compiled_paths.same_points``)."""
    import tensorflow as tf

    w = tf.constant(np.abs(WEIGHTS) + 0.1)
    f = tf.reduce_sum(tf.reshape(w * tf.exp(x / 2), (tf.shape(x)[0], -1)), axis=1)
    return f + tf.cast(classes, tf.float32), w * tf.exp(x / 2) / 2


@pytest.fixture(autouse=True)
def fresh_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test its own worker's worth of compiled paths (the budget is per process)."""
    monkeypatch.setattr(compiled_paths, "BUDGET", compiled_paths._Budget())


def settled(paths: CompiledPaths, kinds: int, timeout: float = 120.0) -> dict[Any, str]:
    """The outcomes once ``kinds`` compiles are decided (compiling runs in the background)."""
    deadline = time.monotonic() + timeout
    while len(paths.outcomes) < kinds and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(paths.outcomes) >= kinds, f"compiles still running: {paths.outcomes}"
    return paths.outcomes


def inputs(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.uniform(0.5, 2.0, size=(n, 3, 4)).astype(np.float32)
    ends = rng.uniform(0.0, 0.5, size=(n, 3, 4)).astype(np.float32)
    return x, ends, (np.arange(n) % 10).astype(np.int32)


def test_batches_pad_to_the_next_compiled_size_with_a_real_row(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert [bucket(n) for n in (1, 2, 3, 64)] == [1, 2, None, None]  # larger: the graph
    monkeypatch.setattr(compiled_paths, "BUCKETS", (1, 2, 4))
    assert [bucket(n) for n in (1, 2, 3, 4, 5)] == [1, 2, 4, 4, None]
    x, ends, classes = inputs(3)
    padded = pad((x, ends, classes), 4)
    assert [len(a) for a in padded] == [4, 4, 4]
    np.testing.assert_array_equal(padded[0][:3], x)
    np.testing.assert_array_equal(padded[0][3], x[2])  # the last input again, not zeros
    assert padded[2][3] == classes[2]


@pytest.mark.parametrize("score", [tensor_exp, tensor_flat])
def test_an_adopted_path_places_the_round_by_round_rules_points(
    score: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Adopted whatever the timing (``ADOPT_AT`` raised): 1, 2 and 3 inputs, 3 padded to 4
    (buckets widened for the test), answer as the NumPy rule does, exact ties included
    (``tensor_flat``: every choice is one)."""
    monkeypatch.setattr(compiled_paths, "ADOPT_AT", 1e9)
    monkeypatch.setattr(compiled_paths, "BUCKETS", (1, 2, 4))
    monkeypatch.setattr(compiled_paths, "MAX_COMPILED", 3)
    grad = GradientFunction(score, lambda: None, compile_paths=True)
    run = grad.adaptive_paths(12)
    assert run is not None
    for kinds, n in enumerate((1, 2, 3), start=1):
        x, ends, classes = inputs(n, seed=n)
        run(x, ends, classes)  # by the graph; queues the compile
        assert settled(grad.compiled_paths, kinds)[(12, (3, 4), bucket(n))] == "adopted"
        compiled = run(x, ends, classes)
        assert compiled["alphas"].shape == (n, 13)
        by_rounds = methods.integrated_gradients(grad, x, ends, classes, steps=12, rule="adaptive")
        for i, path in enumerate(by_rounds):
            np.testing.assert_array_equal(compiled["alphas"][i], path.alphas)
            np.testing.assert_allclose(compiled["path_values"][i], path.path_values, rtol=1e-6)
            np.testing.assert_allclose(compiled["attributions"][i], path.attributions, rtol=1e-5)
            assert compiled["value"][i] == pytest.approx(path.value, rel=1e-6)


def test_a_worker_holds_at_most_max_compiled_paths_and_frees_them_with_their_version(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Each compiled path holds tens of MB: past ``MAX_COMPILED`` in a process the graph
    answers; a version that unloads gives its places to the next."""
    monkeypatch.setattr(compiled_paths, "ADOPT_AT", 1e9)
    monkeypatch.setattr(compiled_paths, "MAX_COMPILED", 1)
    first = GradientFunction(tensor_exp, lambda: None, compile_paths=True)
    second = GradientFunction(tensor_exp, lambda: None, compile_paths=True)
    run_first, run_second = first.adaptive_paths(12), second.adaptive_paths(12)
    assert run_first is not None and run_second is not None
    run_first(*inputs(1))
    assert settled(first.compiled_paths, 1) == {(12, (3, 4), 1): "adopted"}
    run_first(*inputs(2))  # a second kind: over the budget
    run_second(*inputs(1))
    time.sleep(0.3)
    assert len(first.compiled_paths.outcomes) == 1
    assert second.compiled_paths.outcomes == {}
    first.compiled_paths.close()  # the version unloads
    run_second(*inputs(1, seed=5))
    assert settled(second.compiled_paths, 1) == {(12, (3, 4), 1): "adopted"}


def test_a_path_that_places_other_points_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    """``tensor_cubic``'s near-ties round the other way under XLA: the graph stays."""
    monkeypatch.setattr(compiled_paths, "ADOPT_AT", 1e9)
    grad = GradientFunction(tensor_cubic, lambda: None, compile_paths=True)
    run = grad.adaptive_paths(12)
    assert run is not None
    x, ends, classes = inputs(1, seed=1)
    first = run(x, ends, classes)
    outcomes = settled(grad.compiled_paths, 1)
    assert outcomes == {(12, (3, 4), 1): "placed other points than the graph"}
    np.testing.assert_array_equal(run(x, ends, classes)["alphas"], first["alphas"])


def first_outcome(score: Any, n: int) -> tuple[Any, ...]:
    """A compiling gradient function of ``score``, its 8-step paths, ``n`` inputs, the
    graph's answer for them and what became of the compile that answer queued."""
    grad = GradientFunction(score, lambda: None, compile_paths=True)
    run = grad.adaptive_paths(8)
    assert run is not None
    arrays = inputs(n)
    first = run(*arrays)
    (why,) = settled(grad.compiled_paths, 1).values()
    return grad, run, arrays, first, why


def test_a_path_that_is_no_faster_keeps_the_graph_and_stops_compiling(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(compiled_paths, "ADOPT_AT", 0.0)  # nothing is that fast
    grad, run, (x, ends, classes), first, why = first_outcome(tensor_cubic, 1)
    assert why.startswith("no faster")
    assert not grad.compiled_paths.enabled  # the first kind lost: the model keeps the graph
    run(*inputs(2))
    time.sleep(0.2)
    assert len(grad.compiled_paths.outcomes) == 1  # nothing more was compiled
    np.testing.assert_array_equal(run(x, ends, classes)["attributions"], first["attributions"])


def test_a_path_xla_cannot_compile_keeps_the_graph() -> None:
    """``tf.numpy_function`` has no XLA kernel: compiling fails, the answers do not."""
    import tensorflow as tf

    def numpy_score(x: Any, classes: Any) -> tuple[Any, Any]:
        f, g = tensor_cubic(x, classes)
        return tf.numpy_function(lambda v: v, [f], tf.float32), g

    grad, run, (x, ends, classes), first, why = first_outcome(numpy_score, 2)
    assert why.startswith("failed to compile")
    assert not grad.compiled_paths.enabled
    np.testing.assert_array_equal(run(x, ends, classes)["alphas"], first["alphas"])


def test_off_by_setting_nothing_is_compiled() -> None:
    grad = GradientFunction(tensor_cubic, lambda: None)  # compile_paths defaults to off
    run = grad.adaptive_paths(8)
    assert run is not None
    run(*inputs(1))
    time.sleep(0.2)
    assert grad.compiled_paths.outcomes == {}


def test_the_service_answers_the_same_explanation_before_and_after_compiling(
    model_repository: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A trained model behind the live server, compiling on (the product's default): the
    first ``:explain`` is the graph's, the compile runs beside it, and once adopted the
    same request gets the same alphas and, up to float rounding, the same map."""
    from tests.fixtures.server import run_server
    from tests.service.test_explain_route import EXAMPLE_1

    monkeypatch.setattr(compiled_paths, "ADOPT_AT", 1e9)  # adopt on any machine load
    settings = model_repository.settings(explain_compile=True, reload_interval_s=0)
    with run_server(settings) as server, server.client() as http:
        url = "/v1/models/digits:explain?steps=20"
        first = http.post(url, json=EXAMPLE_1)
        assert first.status_code == 200, first.text
        loaded = server.app.state.dataplane.repository.snapshot.get("digits")
        paths = loaded.gradients.of("input", "probability").compiled_paths
        assert settled(paths, 1)[(20, (28, 28), 1)] == "adopted"
        again = http.post(url, json=EXAMPLE_1)
        assert again.status_code == 200, again.text
    (before,) = first.json()["explanations"]
    (after,) = again.json()["explanations"]
    assert after["path"]["alphas"] == before["path"]["alphas"]
    np.testing.assert_allclose(
        after["path"]["values"], before["path"]["values"], rtol=1e-5, atol=1e-7
    )
    np.testing.assert_allclose(
        np.asarray(after["attributions"]), np.asarray(before["attributions"]), atol=1e-6
    )
    assert after["completeness_gap"] == pytest.approx(before["completeness_gap"], abs=1e-6)


def test_models_with_convolutions_are_not_compiled(model_repository: Any) -> None:
    """Not worth trying: XLA's convolutions are the slower ones here, and the compile of a
    CNN's path takes a core for half a minute in every worker."""
    import tensorflow as tf

    from core.manifest import SAVED_MODEL_DIR
    from service.runtime.gradients import Gradients

    def compiles(model: str) -> bool:
        saved = tf.saved_model.load(
            str(model_repository.models_dir / model / "1" / SAVED_MODEL_DIR)
        )
        gradients = Gradients(saved, compile_paths=True)
        return gradients.of("input", "probability").compiled_paths.enabled

    assert compiles("digits")
    assert not compiles("digits-cnn")
