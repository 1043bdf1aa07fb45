"""`Client.neighbors` and `layerlens neighbors` (docs/explain.md, `:neighbors`): the requests
and the reading of answers through httpx.MockTransport, the figure, and the real service on
loopback."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from clients import (
    BadRequestError,
    Client,
    Neighbor,
    NeighborsResult,
    NeighborVote,
    NotFoundError,
    ResponseError,
)
from clients.cli import app
from clients.plots.neighbors import PER_LINE, figure_size, plot_neighbors
from tests.clients.fake_digits import FakeDigitsService, client_answering, mixed_inputs, png_bytes
from tests.clients.helpers import assert_png, write_png


class FakeService(FakeDigitsService):
    """Answers ``:neighbors`` as docs/explain.md describes (made-up neighbours: index
    ``1000 * input + rank``, class ``rank % 3``, distance ``rank / 2``), the digits manifest
    and dataset examples; records every request. Each result's ``predicted`` counts up
    across requests, so order can be checked."""

    def example(self, dataset: str, index: int) -> dict[str, Any]:
        instance = np.asarray(Image.open(io.BytesIO(png_bytes(index % 200 + 50))))
        body = {"dataset": dataset, "index": index, "label": index % 3}
        return {**body, "instance": instance.tolist()}

    def answer(self, request: httpx.Request) -> dict[str, Any]:
        params = request.url.params
        k = int(params.get("k", 8))
        results = []
        for _ in range(self.inputs(request)):
            found = [
                {"index": 1000 * self.answered + rank, "class_id": rank % 3,
                 "label": str(rank % 3), "distance": rank / 2}
                for rank in range(k)
            ]  # fmt: skip
            counts = np.bincount([n["class_id"] for n in found], minlength=10)
            winner = int(counts.argmax())
            predicted = self.answered % 10
            results.append(
                {
                    "predicted": predicted, "predicted_label": str(predicted), "neighbors": found,
                    "vote": {"class_id": winner, "label": str(winner), "share": counts.max() / k},
                    "agrees": winner == predicted,
                }
            )  # fmt: skip
            self.answered += 1
        return {
            "model": "digits", "version": 2, "dataset": params.get("dataset", "mnist-train"),
            "space": params.get("space", "embedding"), "metric": params.get("metric", "euclidean"),
            "k": k, "results": results,
        }  # fmt: skip


def test_dataset_examples_go_as_examples_with_only_the_options_given() -> None:
    service = FakeService()
    with service.client() as client:
        result = client.neighbors("digits", service.two_examples(), k=4)
    assert service.sent_two_examples("/v1/models/digits:neighbors") == {"k": "4"}
    assert isinstance(result, NeighborsResult) and len(result) == 2
    assert (result.model, result.version, result.dataset) == ("digits", 2, "mnist-train")
    assert (result.space, result.metric, result.k) == ("embedding", "euclidean", 4)
    first = result[0]
    assert (first.predicted, first.predicted_label) == (0, "0")
    assert first.neighbors[1] == Neighbor(index=1, class_id=1, label="1", distance=0.5)
    assert first.vote == NeighborVote(class_id=0, label="0", share=0.5)
    assert first.agrees is True and result[1].agrees is False
    assert len(first) == 4 and [n.index for n in first] == [0, 1, 2, 3]
    assert first.indexes.tolist() == [0, 1, 2, 3] and first.indexes.dtype == np.int64
    assert result.indexes.shape == result.distances.shape == (2, 4)
    assert result.distances[1].tolist() == [0.0, 0.5, 1.0, 1.5]
    assert result.agreement == 0.5


def test_every_option_goes_in_the_query_and_a_version_in_the_path() -> None:
    service = FakeService()
    with service.client() as client:
        result = client.neighbors(
            "digits", "mnist-test:1", version=1, k=3, dataset="mnist-test", space="pixel",
            metric="cosine", layer="hidden",
        )  # fmt: skip
    (request,) = service.seen
    assert request.url.path == "/v1/models/digits/versions/1:neighbors"
    assert dict(request.url.params) == {
        "k": "3", "dataset": "mnist-test", "space": "pixel", "metric": "cosine",
        "layer": "hidden",
    }  # fmt: skip
    assert (result.dataset, result.space, result.metric, result.k) == (
        "mnist-test", "pixel", "cosine", 3,
    )  # fmt: skip


def test_mixed_inputs_go_in_runs_of_one_kind_and_keep_their_order() -> None:
    service = FakeService()
    with service.client() as client:
        result = client.neighbors("digits", mixed_inputs(), k=2)
    service.assert_sent_in_runs_of_one_kind()
    assert all(r.url.params["k"] == "2" for r in service.posts())
    assert [r.predicted for r in result] == list(range(7))
    assert result.indexes[:, 0].tolist() == [1000 * i for i in range(7)]
    assert len(result.raw) == 7 and result.to_json()["results"] == result.raw
    assert NeighborsResult.from_json(result.to_json()) == result


def test_more_inputs_than_one_request_holds_are_split() -> None:
    service = FakeService()
    with service.client() as client:
        result = client.neighbors("digits", [f"mnist-test:{i}" for i in range(300)], k=1)
    assert [service.inputs(r) for r in service.posts()] == [256, 44]
    assert len(result) == 300 and result.indexes[:, 0].tolist() == [1000 * i for i in range(300)]


def test_an_answer_missing_a_field_names_it_and_errors_keep_the_servers_words() -> None:
    item = {"predicted": 1, "predicted_label": "1", "neighbors": [], "agrees": True}
    broken = client_answering({"model": "digits", "results": [item]})
    with broken as client, pytest.raises(ResponseError, match="'vote'"):
        client.neighbors("digits", "mnist-test:1")
    message = "model 'digits' v2 has no neighbour index of 'fashion-train'; indexed: mnist-train"
    service = FakeService(404, {"error": message, "code": "dataset_not_found"})
    with service.client() as client, pytest.raises(NotFoundError) as info:
        client.neighbors("digits", "mnist-test:1", dataset="fashion-train")
    assert info.value.message == message and len(service.seen) == 1


def test_the_async_client_sends_the_same_request() -> None:
    service = FakeService()
    result = service.run_async(
        lambda client: client.neighbors("digits", "mnist-test:1", k=5, metric="cosine")
    )
    assert dict(service.seen[0].url.params) == {"k": "5", "metric": "cosine"}
    assert len(result[0]) == 5 and result.metric == "cosine"


def searched(k: int, count: int = 2) -> tuple[NeighborsResult, list[list[np.ndarray]]]:
    """A result and its neighbours' instances, as the CLI fetches them."""
    service = FakeService()
    with service.client() as client:
        result = client.neighbors("digits", [f"mnist-test:{i}" for i in range(count)], k=k)
        found = [
            [client.dataset_example(result.dataset, n.index).instance for n in r] for r in result
        ]
    return result, found


def test_the_figure_is_a_png_of_the_promised_size(tmp_path: Path) -> None:
    picture = np.asarray(Image.open(io.BytesIO(png_bytes())), dtype=np.float32)
    wrapped = PER_LINE * 2 + 3
    rng = np.random.default_rng(0)
    pictures, found = searched(8)
    many, many_found = searched(wrapped, count=1)
    points, _ = searched(6)
    cases = {
        "two.png": (pictures, found, [picture, None], figure_size(2, 8)),
        "wrapped.png": (many, many_found, None, figure_size(1, wrapped)),
        "points.png": (
            points, [[rng.normal(size=2) for _ in r] for r in points], [np.zeros(2), None],
            figure_size(2, 6, vectors=True),
        ),
    }  # fmt: skip
    for name, (result, examples, queries, size) in cases.items():
        names = [f"mnist-test:{i}" for i in range(len(result))]
        written = plot_neighbors(
            result, tmp_path / name, examples=examples, queries=queries, names=names
        )
        assert written == tmp_path / name
        assert_png(written, size)
    assert figure_size(1, wrapped)[1] == figure_size(3, 1)[1]  # three lines of thumbnails
    assert figure_size(1, PER_LINE)[0] == figure_size(1, 100)[0] > figure_size(1, 1)[0]


def test_cli_table_json_and_plot_against_the_contract(mocked_cli, tmp_path: Path) -> None:
    runner = CliRunner()
    plot = tmp_path / "nn.png"
    options = ["--dataset", "mnist-test", "--space", "pixel", "--metric", "cosine"]
    args = ["neighbors", "mnist-test:1", "--model", "digits", "--k", "4", *options]
    args += ["--plot", str(plot)]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert f"wrote {plot}" in result.stderr
    assert_png(plot, figure_size(1, 4))
    (request,) = mocked_cli.posts()
    assert dict(request.url.params) == {
        "k": "4", "dataset": "mnist-test", "space": "pixel", "metric": "cosine",
    }  # fmt: skip
    fetched = [r.url.path for r in mocked_cli.seen if r.method == "GET"]
    assert sorted(fetched) == [f"/v1/datasets/mnist-test/{i}" for i in (0, 1, 1, 2, 3)]
    table = result.stdout
    assert "4 nearest in mnist-test (pixel space, cosine distance)" in table
    assert "mnist-test:1: predicted 0" in table
    for header in ("rank", "index", "label", "distance"):
        assert header in table
    assert "1.5000" in table  # the fourth neighbour's distance
    assert "vote: 0 (50% of 4); agrees with the prediction" in table

    as_json = runner.invoke(app, ["neighbors", "mnist-test:1", "mnist-test:2", "--json"])
    assert as_json.exit_code == 0, as_json.output
    body = json.loads(as_json.stdout)
    assert [r["input"] for r in body["results"]] == ["mnist-test:1", "mnist-test:2"]
    assert (body["dataset"], body["space"], body["k"]) == ("mnist-train", "embedding", 8)
    assert len(body["results"][1]["neighbors"]) == 8 and body["results"][1]["agrees"] is False


def test_cli_plots_an_image_file_and_refuses_bad_options(
    mocked_cli, tmp_path: Path, monkeypatch
) -> None:
    monkeypatch.chdir(tmp_path)
    Path("two.png").write_bytes(png_bytes())
    runner = CliRunner()
    result = runner.invoke(
        app, ["neighbors", "two.png", "mnist-test:3", "-k", "3", "--plot", "n.png"]
    )
    assert result.exit_code == 0, result.output
    assert_png(tmp_path / "n.png", figure_size(2, 3))
    assert "disagrees with the prediction" in result.stdout
    assert "1 of 2 inputs' neighbours agree with the prediction" in result.stdout
    kinds = [r.headers["content-type"].split(";")[0] for r in mocked_cli.posts()]
    assert kinds == ["multipart/form-data", "application/json"]
    for wrong in (["--space", "latent"], ["--metric", "manhattan"], ["--k", "0"]):
        refused = runner.invoke(app, ["neighbors", "mnist-test:1", *wrong])
        assert refused.exit_code == 2, wrong
    assert len(mocked_cli.posts()) == 2  # refused before sending


# --- the real service -----------------------------------------------------------------


def test_neighbors_live(live_server) -> None:
    """An example searched in its own split is its own nearest neighbour, at distance ~0,
    in the embedding's space and in pixels; the vote is the neighbours' majority."""
    with Client(live_server.url, timeout=120.0) as client:
        result = client.neighbors("digits", "mnist-test:1", dataset="mnist-test")
        prediction = client.predict("digits", "mnist-test:1")[0]
        label = client.dataset_example("mnist-test", 1).label
        assert (result.model, result.dataset, result.space, result.metric, result.k) == (
            "digits", "mnist-test", "embedding", "euclidean", 8,
        )  # fmt: skip
        (item,) = result
        assert len(item) == 8
        first = item[0]
        assert (first.index, first.class_id) == (1, label)
        assert first.distance == pytest.approx(0.0, abs=1e-3)
        assert list(item.distances) == sorted(item.distances)
        assert (item.predicted, item.predicted_label) == (prediction.class_id, prediction.label)
        counts = np.bincount([n.class_id for n in item], minlength=10)
        assert item.vote.class_id == int(counts.argmax())
        assert item.vote.share == pytest.approx(counts.max() / 8)
        assert item.agrees == (item.vote.class_id == item.predicted)
        pixels = client.neighbors(
            "digits", "mnist-test:1", dataset="mnist-test", space="pixel", metric="cosine", k=3
        )
        assert (pixels.space, pixels.metric, pixels.k) == ("pixel", "cosine", 3)
        assert pixels[0][0].index == 1 and pixels[0][0].distance == pytest.approx(0.0, abs=1e-3)
        train = client.neighbors("digits", "mnist-test:1", k=2)
        assert train.dataset == "mnist-train" and len(train[0]) == 2
        with pytest.raises(NotFoundError, match="index"):
            client.neighbors("digits", "mnist-test:1", dataset="fashion-mnist-train")


def test_neighbors_live_inputs_of_every_kind_and_the_cli(live_server, tmp_path: Path) -> None:
    with Client(live_server.url, timeout=120.0) as client:
        png = write_png(client, tmp_path / "two.png", "mnist-test:1")
        instance = client.dataset_example("mnist-test", 1).instance
        mixed = client.neighbors("digits", [png, "mnist-test:1", instance], k=4)
        assert len(mixed) == 3
        for item in mixed[1:]:
            assert item.indexes.tolist() == mixed[0].indexes.tolist()
            np.testing.assert_allclose(item.distances, mixed[0].distances, atol=1e-3)
    runner = CliRunner()
    plot = tmp_path / "nn.png"
    args = ["--url", live_server.url, "neighbors", "mnist-test:1", "--model", "digits",
            "--k", "8", "--dataset", "mnist-test", "--plot", str(plot)]  # fmt: skip
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "8 nearest in mnist-test" in result.stdout and "vote:" in result.stdout
    assert_png(plot, figure_size(1, 8))
    points = tmp_path / "xor.png"
    args = ["--url", live_server.url, "neighbors", "xor-test:1", "--model", "xor",
            "--dataset", "xor-test", "--k", "5", "--plot", str(points)]  # fmt: skip
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert_png(points, figure_size(1, 5, vectors=True))


def test_neighbors_live_in_an_opted_in_layer(live_server) -> None:
    """digits-cnn indexes dense1 (its recipe's neighbor_layers): ``layer=`` and ``--layer``
    search it; a layer not indexed is the service's 400."""
    with Client(live_server.url, timeout=120.0) as client:
        result = client.neighbors(
            "digits-cnn", "mnist-test:5", dataset="mnist-test", layer="dense1"
        )
        assert (result.space, result.layer) == ("embedding", "dense1")
        assert result[0][0].index == 5 and result[0][0].distance == pytest.approx(0, abs=1e-3)
        assert client.neighbors("digits-cnn", "mnist-test:5", k=1).layer == "embedding"
        with pytest.raises(BadRequestError, match="indexed layers: embedding, dense1"):
            client.neighbors("digits-cnn", "mnist-test:5", layer="pool2")
    args = ["--url", live_server.url, "neighbors", "mnist-test:5", "--model", "digits-cnn",
            "--dataset", "mnist-test", "--layer", "dense1", "--k", "3"]  # fmt: skip
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "(dense1 space, euclidean distance)" in result.stdout
