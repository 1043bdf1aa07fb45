"""``:explain`` on the live server: what a client relies on, checked against the model itself."""

from __future__ import annotations

from typing import Any

import httpx
import numpy as np
import pytest

from tests.service.helpers import (
    assert_error,
    encode_npy,
    histogram_totals,
    image_bytes,
    mnist_example,
)

EXAMPLE_1 = {"examples": [{"dataset": "mnist-test", "index": 1}]}


def explain(http: httpx.Client, model: str, query: str = "", **request: Any) -> dict[str, Any]:
    response = http.post(f"/v1/models/{model}:explain?{query}", **request)
    assert response.status_code == 200, response.text
    return response.json()


def probability_of(http: httpx.Client, model: str, instances: list, target: int) -> list[float]:
    body = http.post(f"/v1/models/{model}:predict", json={"instances": instances}).json()
    return [p["probabilities"][target] for p in body["predictions"]]


def test_integrated_gradients_sum_to_the_change_in_probability(http: httpx.Client) -> None:
    body = explain(http, "digits", "steps=64", json=EXAMPLE_1)
    assert (body["method"], body["output"], body["baseline"]) == (
        "integrated-gradients", "probability", "black",
    )  # fmt: skip
    (item,) = body["explanations"]
    image, _label = mnist_example(http, 1)
    predicted = http.post("/v1/models/digits:predict", json={"instances": [image]}).json()
    assert item["target"] == item["predicted"] == predicted["predictions"][0]["class_id"]
    attributions = np.asarray(item["attributions"])
    assert attributions.shape == (28, 28)
    (at_input,) = probability_of(http, "digits", [image], item["target"])
    (at_black,) = probability_of(http, "digits", [np.zeros((28, 28)).tolist()], item["target"])
    assert item["value"] == pytest.approx(at_input, abs=1e-4)
    assert item["baseline_value"] == pytest.approx(at_black, abs=1e-4)
    assert item["completeness_gap"] < 0.05
    assert attributions.sum() == pytest.approx(at_input - at_black, abs=0.05)
    # Pixels that are black in the input have nothing to move from the black baseline.
    assert np.all(attributions[np.asarray(image) == 0] == 0)


def test_the_path_is_the_pixel_sweep_from_the_baseline(http: httpx.Client) -> None:
    (item,) = explain(http, "digits", "steps=10&rule=trapezoid", json=EXAMPLE_1)["explanations"]
    sweep = http.post(
        "/v1/models/digits:interpolate",
        json={
            "a": EXAMPLE_1["examples"][0],
            "b": {"instance": np.zeros((28, 28)).tolist()},
            "alphas": {"start": 0, "stop": 1, "num": 11},
        },
    ).json()
    np.testing.assert_allclose(item["path"]["alphas"], [p["alpha"] for p in sweep["points"]])
    np.testing.assert_allclose(
        item["path"]["values"],
        [p["probabilities"][item["target"]] for p in sweep["points"]],
        atol=1e-4,
    )


def test_more_steps_close_the_completeness_gap(http: httpx.Client) -> None:
    gaps = [
        explain(http, "digits-cnn", f"steps={steps}", json=EXAMPLE_1)["explanations"][0][
            "completeness_gap"
        ]
        for steps in (2, 128)
    ]
    assert gaps[1] < gaps[0] or gaps[0] < 1e-4
    legendre = explain(http, "digits-cnn", "steps=16&rule=gauss-legendre", json=EXAMPLE_1)
    assert legendre["explanations"][0]["completeness_gap"] < 0.05


def test_every_input_form_gives_the_same_map(http: httpx.Client) -> None:
    image, _label = mnist_example(http, 1)
    pixels = np.asarray(image, dtype=np.float32)
    by_example = explain(http, "digits", "steps=8", json=EXAMPLE_1)["explanations"][0]
    by_instance = explain(http, "digits", "steps=8", json={"instances": [image]})
    by_npy = explain(
        http, "digits", "steps=8",
        content=encode_npy(pixels[None]), headers={"content-type": "application/x-npy"},
    )  # fmt: skip
    by_png = explain(
        http, "digits", "steps=8",
        files={"files": ("one.png", image_bytes(pixels), "image/png")},
    )  # fmt: skip
    for other in (by_instance, by_npy, by_png):
        np.testing.assert_allclose(
            other["explanations"][0]["attributions"], by_example["attributions"], atol=1e-5
        )


def test_a_target_by_name_or_index_and_the_logit(http: httpx.Client) -> None:
    by_index = explain(http, "fashion", "target=2", json={"examples": [
        {"dataset": "fashion-mnist-test", "index": 0}]})["explanations"][0]  # fmt: skip
    names = http.get("/v1/models/fashion").json()["class_names"]
    by_name = explain(http, "fashion", f"target={names[2]}", json={"examples": [
        {"dataset": "fashion-mnist-test", "index": 0}]})["explanations"][0]  # fmt: skip
    assert by_index["target"] == by_name["target"] == 2 and by_name["target_class"] == names[2]
    np.testing.assert_allclose(by_index["attributions"], by_name["attributions"], atol=1e-6)
    logit = explain(http, "digits", "output=logit&steps=64", json=EXAMPLE_1)
    item = logit["explanations"][0]
    assert logit["output"] == "logit" and item["completeness_gap"] < 0.05
    assert item["value"] > 1  # a logit, not a probability


def test_saliency_is_the_gradient_the_model_has(http: httpx.Client) -> None:
    """Central differences through :predict agree with the served gradient."""
    image, _label = mnist_example(http, 1)
    item = explain(http, "digits", "method=saliency", json={"instances": [image]})
    item = item["explanations"][0]
    gradient = np.asarray(item["attributions"])
    pixels = np.asarray(image, dtype=np.float32)
    # the most sensitive pixels that can move 2 either way within [0, 255]
    movable = np.where((pixels >= 2) & (pixels <= 253), gradient, -1.0)
    for flat in np.argsort(movable.ravel())[-3:]:
        row, col = divmod(int(flat), 28)
        step = np.zeros_like(pixels)
        step[row, col] = 2.0
        up, down = probability_of(
            http, "digits", [(pixels + step).tolist(), (pixels - step).tolist()], item["target"]
        )
        finite_difference = abs(up - down) / 4.0
        assert abs(finite_difference - gradient[row, col]) <= 1e-3
        assert finite_difference == pytest.approx(gradient[row, col], rel=0.1, abs=1e-6)


def test_smoothgrad_and_occlusion_answer_maps_of_the_input_shape(http: httpx.Client) -> None:
    smooth = explain(http, "digits", "method=smoothgrad&samples=8&seed=1", json=EXAMPLE_1)
    again = explain(http, "digits", "method=smoothgrad&samples=8&seed=1", json=EXAMPLE_1)
    assert smooth["explanations"] == again["explanations"]
    assert np.asarray(smooth["explanations"][0]["attributions"]).shape == (28, 28)
    occluded = explain(
        http, "xor", "method=occlusion&patch=1&stride=1",
        json={"instances": [[1.0, 0.0]], "baseline": {"instance": [0.0, 0.0]}},
    )["explanations"][0]  # fmt: skip
    (f_x,) = probability_of(http, "xor", [[1.0, 0.0]], occluded["target"])
    only_first, only_second = probability_of(
        http, "xor", [[0.0, 0.0], [1.0, 0.0]], occluded["target"]
    )
    # Occluding feature 0 with the baseline's gives [0, 0]; feature 1 is already the baseline's.
    np.testing.assert_allclose(occluded["attributions"], [f_x - only_first, f_x - only_second],
                               atol=1e-5)  # fmt: skip


def test_layer_attribution_explains_the_heads_answer_from_the_embedding(
    http: httpx.Client,
) -> None:
    body = explain(http, "digits", "layer=embedding&steps=64", json=EXAMPLE_1)
    item = body["explanations"][0]
    image, _label = mnist_example(http, 1)
    embedded = http.post("/v1/models/digits:embed", json={"instances": [image]}).json()
    width = len(embedded["embeddings"][0])
    assert body["layer"] == "embedding" and np.asarray(item["attributions"]).shape == (width,)
    assert item["completeness_gap"] < 0.05


@pytest.mark.parametrize("baseline", ["blur", "mean", "noise"])
def test_named_baselines_are_complete_too(http: httpx.Client, baseline: str) -> None:
    body = explain(http, "digits", f"baseline={baseline}&steps=64", json=EXAMPLE_1)
    assert body["baseline"] == baseline
    assert body["explanations"][0]["completeness_gap"] < 0.05


def test_a_baseline_input_starts_the_path(http: httpx.Client) -> None:
    other, _label = mnist_example(http, 2)
    body = explain(http, "digits", "steps=32", json={
        **EXAMPLE_1, "baseline": {"dataset": "mnist-test", "index": 2}})  # fmt: skip
    item = body["explanations"][0]
    (at_other,) = probability_of(http, "digits", [other], item["target"])
    assert body["baseline"] == "input"
    assert item["baseline_value"] == pytest.approx(at_other, abs=1e-4)


def test_limits_and_mistakes_are_named_4xx(http: httpx.Client, live_server: Any) -> None:
    settings = live_server.settings
    url = "/v1/models/digits:explain"
    many = {"instances": [np.zeros((28, 28)).tolist()] * 3}
    steps = settings.max_explain_rows // 3 + 1
    if steps <= settings.max_explain_steps:
        assert_error(http.post(f"{url}?steps={steps}", json=many), 413, "model rows")
    too_many = settings.max_explain_steps + 1
    assert_error(http.post(f"{url}?steps={too_many}", json=EXAMPLE_1), 413, "steps")
    assert_error(http.post(f"{url}?layer=nosuch", json=EXAMPLE_1), 400, "nosuch")
    assert_error(http.post(f"{url}?target=11", json=EXAMPLE_1), 400, "target")
    assert_error(http.post(f"{url}?method=lime", json=EXAMPLE_1), 400, "method")
    assert_error(http.post(f"{url}?method=saliency&layer=embedding", json=EXAMPLE_1), 400)
    assert_error(
        http.post("/v1/models/xor:explain?baseline=blur", json={"instances": [[0, 1]]}),
        400, "blur",
    )  # fmt: skip
    assert_error(http.post(url, json={**EXAMPLE_1, "instances": [[0]]}), 400, "not both")
    assert_error(http.post(url, json={"examples": []}), 400, "empty")
    assert_error(http.post(url, json={"image": [1]}), 400, "image")
    assert_error(
        http.post(f"{url}?method=saliency", json={**EXAMPLE_1, "baseline": {"instance": [0]}}),
        400, "baseline",
    )  # fmt: skip
    assert_error(http.post(url, json={**EXAMPLE_1, "baseline": {"instance": [0]}}), 400, "baseline")
    assert_error(
        http.post(
            url, json={**EXAMPLE_1, "baseline": {"dataset": "sklearn-digits-test", "index": 0}}
        ),
        400,
        "baseline",
    )
    assert_error(
        http.post(url, json={"examples": [{"dataset": "mnist-test", "index": 10**7}]}), 400
    )


@pytest.mark.parametrize(("model", "query"), [("digits", "steps=50"), ("digits-cnn", "steps=24")])
def test_concurrent_paths_are_computed_together_each_getting_its_own_answer(
    http: httpx.Client, model: str, query: str
) -> None:
    """Concurrent requests' paths go through one batcher: each answer must be the one the
    request gets alone (its own alphas, values and map), and some batches held several.

    Up to float rounding: a model's float32 sums depend a little on how many rows a call
    holds (up to 7e-8 in a `digits` probability), which can swap the adaptive rule's choice
    between two segments whose errors are that close. Measured on this test's model, before
    and after the rule became one graph alike: one point of 51 moved, the map by 2e-5 of
    its largest value (docs/explain.md)."""
    from concurrent.futures import ThreadPoolExecutor

    metric = "layerlens_explain_path_batch_size"

    def ask(index: int) -> dict[str, Any]:
        examples = {"examples": [{"dataset": "mnist-test", "index": index}]}
        return explain(http, model, query, json=examples)["explanations"][0]

    indices = list(range(12))
    alone = [ask(i) for i in indices]
    before = histogram_totals(http, metric, model)
    with ThreadPoolExecutor(max_workers=12) as pool:
        for _round in range(2):
            together = list(pool.map(ask, indices))
            for mine, reference in zip(together, alone, strict=True):
                assert mine["target"] == reference["target"]
                alphas, values = (np.array(mine["path"][key]) for key in ("alphas", "values"))
                own = {a: v for a, v in zip(reference["path"]["alphas"],
                                            reference["path"]["values"], strict=True)}  # fmt: skip
                shared = np.isin(alphas, list(own))
                assert len(alphas) == len(own) and (~shared).sum() <= 2, "not the same path"
                np.testing.assert_allclose(values[shared], [own[a] for a in alphas[shared]],
                                           rtol=1e-5, atol=1e-7)  # fmt: skip
                reference_map = np.array(reference["attributions"])
                np.testing.assert_allclose(mine["attributions"], reference_map, rtol=1e-4,
                                           atol=1e-4 * np.abs(reference_map).max())  # fmt: skip
    count, total = (after - was for after, was in zip(histogram_totals(http, metric, model),
                                                      before, strict=True))  # fmt: skip
    assert total == 2 * len(indices), f"{total} paths computed for {2 * len(indices)} sent"
    assert count < total, f"{count} computations for {total} paths: none was batched"
