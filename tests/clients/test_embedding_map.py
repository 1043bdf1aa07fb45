"""`Client.embedding_map` and `layerlens map` (SEEDS question 9) against the live server."""

from __future__ import annotations

import asyncio
import json
from itertools import combinations
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from clients import AsyncClient, Client, EmbeddingMap
from clients.cli import app
from clients.plots.embedding_map import SIZE
from clients.projection import class_centroids, nearest_centroid_accuracy
from tests.clients.helpers import assert_png

MAP_SIZE = 300  # one request per example: enough for every class, quick to fetch


@pytest.fixture(scope="module")
def digits_map(live_server) -> EmbeddingMap:
    with Client(live_server.url) as client:
        return client.embedding_map("digits", num=MAP_SIZE)


def test_map_holds_the_examples_embeddings_and_true_labels(live_server, digits_map) -> None:
    assert digits_map.dataset == "mnist-test" and digits_map.layer == "embedding"
    assert digits_map.embeddings.shape == (MAP_SIZE, 128)
    assert digits_map.class_names == [str(d) for d in range(10)]
    with Client(live_server.url) as client:
        for index in (1, 2, 299):
            assert digits_map.labels[index] == client.dataset_example("mnist-test", index).label
        direct = client.embed("digits", ["mnist-test:1", "mnist-test:2"]).embeddings
    assert np.allclose(digits_map.embeddings[1:3], direct, atol=1e-5)


def test_classes_form_separate_clusters_in_2d(digits_map) -> None:
    projection = digits_map.project()
    assert projection.coords.shape == (MAP_SIZE, 2)
    centroids = class_centroids(projection.coords, digits_map.labels)
    assert len(centroids) == 10
    spread = projection.coords.std()
    assert all(
        np.linalg.norm(a - b) > 0.05 * spread for a, b in combinations(centroids.values(), 2)
    )
    chance = 1 / len(centroids)
    assert nearest_centroid_accuracy(projection.coords, digits_map.labels) > 2.5 * chance
    shuffled = np.random.default_rng(0).permutation(digits_map.labels)
    assert nearest_centroid_accuracy(projection.coords, shuffled) < 2 * chance


def test_map_of_another_layer_another_dataset_and_async(live_server) -> None:
    with Client(live_server.url) as client:
        fashion = client.embedding_map("fashion", num=12, start=5)
        assert fashion.dataset == "fashion-mnist-test" and "T-shirt/top" in fashion.class_names
        assert fashion.indices.tolist() == list(range(5, 17))
        crossed = client.embedding_map("digits", "fashion-mnist-test", num=10, layer="flatten")
        assert crossed.layer == "flatten" and crossed.embeddings.shape == (10, 784)
        assert all(name.isdigit() for name in crossed.class_names)  # fashion labels, unnamed

    async def fetch() -> EmbeddingMap:
        async with AsyncClient(live_server.url) as client:
            return await client.embedding_map("digits", num=5)

    assert asyncio.run(fetch()).labels.tolist() == [7, 2, 1, 0, 4]


@pytest.fixture(scope="module")
def run(live_server):
    runner = CliRunner()

    def invoke(*args: str, code: int = 0):
        result = runner.invoke(app, ["--url", live_server.url, "map", *args])
        assert result.exit_code == code, result.output
        return result

    return invoke


def test_map_command_plot_csv_npy_and_json(run, tmp_path: Path) -> None:
    plot, csv, npy = tmp_path / "map.png", tmp_path / "map.csv", tmp_path / "map.npy"
    text = run("digits", "--num", "120", "--plot", str(plot), "--out", str(csv)).stdout
    assert "120 mnist-test examples" in text and "nearest its own class" in text
    assert_png(plot, SIZE)
    rows = csv.read_text().splitlines()
    assert rows[0] == "index,label,class_name,x,y" and len(rows) == 121
    assert rows[2].startswith("1,2,2,")  # mnist-test:1 is a '2'
    run("digits", "--num", "120", "--out", str(npy))
    assert np.load(npy).shape == (120, 2)
    assert np.allclose(np.load(npy)[:, 0], [float(r.split(",")[3]) for r in rows[1:]], atol=1e-4)
    body = json.loads(run("digits", "--num", "20", "--json").stdout)
    assert len(body["coords"]) == 20 and body["method"] == "pca"
    assert 0 < sum(body["explained_variance"]) <= 1


def test_map_command_bad_input(run, tmp_path: Path) -> None:
    assert "csv or .npy" in run("--num", "5", "--out", str(tmp_path / "m.txt"), code=2).stderr
    assert "must name a split" in run("--dataset", "mnist", code=2).stderr
    unknown = run("--dataset", "nope-test", "--num", "3", code=1)
    assert "404" in unknown.stderr and "nope-test" in unknown.stderr
    assert "fewer than 2 examples" in run("--start", "9999", "--num", "5", code=2).stderr
    assert "out of range" in run("--start", "10000", "--num", "5", code=1).stderr
    run("--num", "1", code=2)
