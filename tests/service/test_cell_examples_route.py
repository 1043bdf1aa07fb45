"""GET .../metrics/examples: the test examples of one confusion-matrix cell, paged, with
``total`` equal to the stored matrix's entry; every error status it documents."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest

from core.db import begin_write, make_engine
from core.db.schema import ExamplePrediction
from tests.fixtures.server import run_server
from tests.service.helpers import assert_error, copy_versions

EXAMPLES = "/v1/models/{}/metrics/examples"


def _confusion(http: httpx.Client, path: str) -> tuple[str, np.ndarray]:
    body = http.get(f"{path}/metrics", params={"kind": "test"}).json()
    (test,) = body["evaluations"]
    return test["dataset"], np.asarray(test["data"]["confusion_matrix"])


@pytest.mark.parametrize("path", ["/v1/models/digits", "/v1/models/digits/versions/1",
                                  "/v1/models/fashion", "/v1/models/sklearn-digits"])  # fmt: skip
def test_total_is_the_stored_confusion_cell(http: httpx.Client, path: str) -> None:
    dataset, matrix = _confusion(http, path)
    off = np.argwhere(~np.eye(len(matrix), dtype=bool) & (matrix > 0))
    cells = [(0, 0), (3, 3), (len(matrix) - 1, len(matrix) - 1), *map(tuple, off[:4]),
             (0, 1), (len(matrix) - 1, 0)]  # fmt: skip
    for t, p in cells:
        response = http.get(f"{path}/metrics/examples", params={"true": t, "predicted": p})
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["total"] == matrix[t, p], (t, p)
        assert (body["true"], body["predicted"], body["start"], body["dataset"]) == (
            int(t), int(p), 0, dataset)  # fmt: skip
        assert len(body["indices"]) == min(48, matrix[t, p])
        assert body["indices"] == sorted(set(body["indices"]))
        assert body["labels"] == [t] * len(body["indices"])
        assert all(0 < q <= 1 for q in body["probability"])


def test_the_indices_are_that_cells_examples(http: httpx.Client) -> None:
    """Their dataset labels are the true class, and the model predicts the predicted one."""
    _, matrix = _confusion(http, "/v1/models/digits")
    np.fill_diagonal(matrix, 0)
    t, p = np.unravel_index(matrix.argmax(), matrix.shape)  # the largest confusion
    body = http.get(EXAMPLES.format("digits"), params={"true": t, "predicted": p, "num": 20}).json()
    instances = []
    for index in body["indices"]:
        example = http.get(f"/v1/datasets/{body['dataset']}/{index}").json()
        assert example["label"] == t
        instances.append(example["instance"])
    answer = http.post("/v1/models/digits:predict", json={"instances": instances}).json()
    predicted = [row["class_id"] for row in answer["predictions"]]
    agree = [q == p for q in predicted]
    # The service may run the LiteRT copy (equal to 1e-4): at most a near tie may flip.
    assert sum(agree) >= len(agree) - 1, predicted
    rows = zip(answer["predictions"], body["probability"], agree, strict=True)
    for row, probability, same in rows:
        if same:
            assert row["probability"] == pytest.approx(probability, abs=1e-3)


def test_pages_cover_a_diagonal_cell_exactly_once(http: httpx.Client) -> None:
    _, matrix = _confusion(http, "/v1/models/digits")
    total, seen, start = int(matrix[1, 1]), [], 0
    while start < total:
        params = {"true": 1, "predicted": 1, "start": start, "num": 500}
        page = http.get(EXAMPLES.format("digits"), params=params).json()
        assert page["start"] == start and page["total"] == total
        seen.extend(page["indices"])
        start += len(page["indices"])
    assert len(seen) == len(set(seen)) == total > 900


@pytest.mark.parametrize(
    ("params", "words"),
    [
        ({"true": 10, "predicted": 0}, ["true=10", "0 to 9"]),
        ({"true": 0, "predicted": 12}, ["predicted=12", "0 to 9"]),
        ({"true": -1, "predicted": 0}, ["true"]),
        ({"predicted": 0}, ["true"]),
        ({"true": 0, "predicted": 0, "num": 0}, ["num"]),
        ({"true": 0, "predicted": 0, "num": 501}, ["num", "500"]),
        ({"true": 0, "predicted": 0, "start": -1}, ["start"]),
        ({"true": 1, "predicted": 1, "start": 100_000}, ["start=100000", "past"]),
        ({"true": "three", "predicted": 0}, ["true"]),
    ],
)
def test_bad_queries_are_400s_naming_the_parameter(
    http: httpx.Client, params: dict[str, Any], words: list[str]
) -> None:
    assert_error(http.get(EXAMPLES.format("digits"), params=params), 400, *words)


def test_an_empty_cell_answers_no_examples(http: httpx.Client) -> None:
    _, matrix = _confusion(http, "/v1/models/xor")
    empty = np.argwhere(matrix == 0)
    if not len(empty):  # xor may be perfect or not: take any other model's empty cell
        _, matrix = _confusion(http, "/v1/models/digits")
        empty, model = np.argwhere(matrix == 0), "digits"
    else:
        model = "xor"
    t, p = empty[0]
    body = http.get(EXAMPLES.format(model), params={"true": t, "predicted": p}).json()
    assert (body["total"], body["indices"], body["probability"]) == (0, [], [])


def test_unknown_model_and_version_are_404s(http: httpx.Client) -> None:
    params = {"true": 0, "predicted": 0}
    assert_error(http.get(EXAMPLES.format("nope"), params=params), 404, "nope")
    response = http.get("/v1/models/digits/versions/9/metrics/examples", params=params)
    assert_error(response, 404, "9")


@pytest.fixture(scope="module")
def xor_without_predictions(model_repository: Any, tmp_path_factory: pytest.TempPathFactory):
    """A server over xor v1 whose database predates the predictions (none stored)."""
    root = tmp_path_factory.mktemp("no-predictions")
    models_dir = copy_versions(model_repository.models_dir, root / "models", {"xor": [1]})
    database = root / "metrics.db"
    shutil.copy(model_repository.database_url.removeprefix("sqlite:///"), database)
    engine = make_engine(f"sqlite:///{database}")
    with begin_write(engine) as connection:
        connection.execute(ExamplePrediction.__table__.delete())
    engine.dispose()
    settings = model_repository.settings(models_dir=models_dir,
                                         database_url=f"sqlite:///{database}")  # fmt: skip
    with run_server(settings) as server, server.client() as client:
        yield client


def test_none_stored_is_a_404_saying_how_to_get_them(xor_without_predictions) -> None:
    response = xor_without_predictions.get(EXAMPLES.format("xor"),
                                           params={"true": 0, "predicted": 0})  # fmt: skip
    body = assert_error(response, 404, "xor v1", "make run", "layerlens-train")
    assert body["code"] == "predictions_not_found"


def test_an_unreachable_database_is_a_503(model_repository: Any, tmp_path: Path) -> None:
    models_dir = copy_versions(model_repository.models_dir, tmp_path, {"xor": [1]})
    refused = "postgresql+psycopg://layerlens@127.0.0.1:1/layerlens"  # nothing listens on 1
    settings = model_repository.settings(models_dir=models_dir, database_url=refused)
    with run_server(settings) as server, server.client() as http:
        response = http.get(EXAMPLES.format("xor"), params={"true": 0, "predicted": 0})
        body = assert_error(response, 503, "metrics database")
        assert body["code"] == "metrics_unavailable"


def test_instances_are_the_dataset_routes_inputs(http: httpx.Client) -> None:
    params = {"true": 4, "predicted": 4, "start": 10, "num": 6}
    plain = http.get(EXAMPLES.format("digits"), params=params).json()
    body = http.get(EXAMPLES.format("digits"), params={**params, "instances": "true"}).json()
    assert "instances" not in plain
    assert {k: v for k, v in body.items() if k != "instances"} == plain
    assert len(body["instances"]) == len(body["indices"]) == 6
    for index, instance in zip(body["indices"], body["instances"], strict=True):
        example = http.get(f"/v1/datasets/{body['dataset']}/{index}").json()
        assert instance == example["instance"] and example["label"] == 4
