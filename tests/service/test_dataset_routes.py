"""Dataset examples over HTTP: one at a time, or a run of them in one request."""

from __future__ import annotations

import httpx

from tests.service.helpers import assert_error


def _one(http: httpx.Client, ref: str, index: int) -> dict:
    response = http.get(f"/v1/datasets/{ref}/{index}")
    assert response.status_code == 200, response.text
    return response.json()


def test_a_run_of_examples_is_the_same_as_fetching_each(http: httpx.Client) -> None:
    for ref in ("mnist-test", "fashion-mnist-validation", "sklearn-digits-test"):
        body = http.get(f"/v1/datasets/{ref}", params={"start": 5, "num": 3}).json()
        assert body["dataset"] == ref and body["start"] == 5
        assert len(body["instances"]) == len(body["labels"]) == 3
        for offset in range(3):
            one = _one(http, ref, 5 + offset)
            assert body["instances"][offset] == one["instance"]
            assert body["labels"][offset] == one["label"]


def test_a_run_stops_where_the_split_ends_and_says_how_long_it_is(http: httpx.Client) -> None:
    size = http.get("/v1/datasets/mnist-test", params={"num": 1}).json()["size"]
    assert size == 10_000
    tail = http.get("/v1/datasets/mnist-test", params={"start": size - 2, "num": 50}).json()
    assert len(tail["labels"]) == 2
    assert tail["instances"][-1] == _one(http, "mnist-test", size - 1)["instance"]


def test_bad_runs_are_refused_naming_what_is_wrong(http: httpx.Client, live_server) -> None:
    limit = live_server.settings.max_batch_size
    assert_error(http.get("/v1/datasets/mnist-test", params={"num": 0}), 400, "num")
    assert_error(http.get("/v1/datasets/mnist-test", params={"start": -1}), 400, "start")
    assert_error(http.get("/v1/datasets/mnist-test", params={"num": limit + 1}), 413, str(limit))
    assert_error(http.get("/v1/datasets/mnist-test", params={"start": 10_000}), 400, "start 10000")
    assert_error(http.get("/v1/datasets/mnist-nope"), 404, "mnist-test")
