"""`Client.embedding_map`, `projection`, `project` and `layerlens map` (SEEDS question 9)
against the live server: the SDK's map is the service's, as the page's is."""

from __future__ import annotations

import asyncio
import json
from itertools import combinations
from pathlib import Path

import httpx
import numpy as np
import pytest
from typer.testing import CliRunner

from clients import AsyncClient, Client, EmbeddingMap, InputError
from clients.cli import app
from clients.plots.embedding_map import SIZE
from clients.projection import class_centroids, nearest_centroid_accuracy
from tests.clients.helpers import assert_png

MAP_SIZE = 300
IMAGES = Path(__file__).resolve().parents[2] / "docs" / "images"


@pytest.fixture(scope="module")
def digits_map(live_server) -> EmbeddingMap:
    with Client(live_server.url) as client:
        return client.embedding_map("digits", num=MAP_SIZE, seed=0)


def test_the_map_is_the_services_points(live_server, digits_map) -> None:
    raw = httpx.get(
        f"{live_server.url}/v1/models/digits/projection/points?num={MAP_SIZE}&seed=0"
    ).json()
    assert (digits_map.dataset, digits_map.layer, digits_map.method) == (
        "mnist-test", "embedding", "pca",
    )  # fmt: skip
    assert digits_map.indices.tolist() == raw["indices"]
    assert np.array_equal(digits_map.coords, np.asarray(raw["coords"]))
    assert digits_map.class_names == [str(d) for d in range(10)]
    with Client(live_server.url) as client:
        for i in (0, 299):
            example = client.dataset_example("mnist-test", int(digits_map.indices[i]))
            assert digits_map.labels[i] == example.label
    assert np.mean(digits_map.predicted == digits_map.labels) > 0.7


def test_projection_and_project_place_inputs_on_their_points(live_server, digits_map) -> None:
    picked = [int(digits_map.indices[i]) for i in (3, 4)]
    refs = [f"mnist-test:{i}" for i in picked]
    where = digits_map.coords[[3, 4]]
    with Client(live_server.url) as client:
        projection = client.projection("digits")
        assert projection.components.shape == (2, 128) and projection.dataset == "mnist-test"
        by_hand = projection.apply(client.embed("digits", refs).embeddings)
        pixels = client.dataset_example("mnist-test", picked[0]).instance
        placed = client.project("digits", [*refs, pixels, IMAGES / "digit-2.png"])
        digit_2 = client.project("digits", "mnist-test:1")
    np.testing.assert_allclose(by_hand, where, atol=1e-3)
    np.testing.assert_allclose(placed.coords[:2], where, atol=1e-3)
    np.testing.assert_allclose(placed.coords[2], placed.coords[0], atol=1e-6)  # numbers
    np.testing.assert_allclose(placed.coords[3], digit_2.coords[0], atol=1e-6)  # its PNG
    assert len(placed) == 4 and placed.version == digits_map.version


def test_classes_form_separate_clusters_in_2d(digits_map) -> None:
    centroids = class_centroids(digits_map.coords, digits_map.labels)
    assert len(centroids) == 10
    spread = digits_map.coords.std()
    assert all(
        np.linalg.norm(a - b) > 0.05 * spread for a, b in combinations(centroids.values(), 2)
    )
    chance = 1 / len(centroids)
    assert nearest_centroid_accuracy(digits_map.coords, digits_map.labels) > 2.5 * chance
    shuffled = np.random.default_rng(0).permutation(digits_map.labels)
    assert nearest_centroid_accuracy(digits_map.coords, shuffled) < 2 * chance


def test_another_model_a_version_async_and_bad_sizes(live_server) -> None:
    with Client(live_server.url) as client:
        fashion = client.embedding_map("fashion", num=12, seed=5)
        assert fashion.dataset == "fashion-mnist-test" and "T-shirt/top" in fashion.class_names
        assert client.embedding_map("digits", num=20, version=1).version == 1
        with pytest.raises(InputError, match="2 to 10,000"):
            client.embedding_map("digits", num=1)

    async def fetch() -> tuple[EmbeddingMap, np.ndarray]:
        async with AsyncClient(live_server.url) as client:
            points = await client.embedding_map("digits", num=5, seed=0)
            placed = await client.project("digits", [f"mnist-test:{points.indices[0]}"])
            return points, placed.coords

    points, coords = asyncio.run(fetch())
    with Client(live_server.url) as client:
        assert np.array_equal(points.coords, client.embedding_map("digits", num=5).coords)
    np.testing.assert_allclose(coords[0], points.coords[0], atol=1e-3)


@pytest.fixture(scope="module")
def run(live_server):
    runner = CliRunner()

    def invoke(*args: str, code: int = 0):
        result = runner.invoke(app, ["--url", live_server.url, "map", *args])
        assert result.exit_code == code, result.output
        return result

    return invoke


def test_map_command_plot_csv_npy_json_and_inputs(run, digits_map, tmp_path: Path) -> None:
    plot, csv, npy = tmp_path / "map.png", tmp_path / "map.csv", tmp_path / "map.npy"
    text = run(
        "digits", "--num", str(MAP_SIZE), "--plot", str(plot), "--out", str(csv),
        "--input", "mnist-test:1", "-i", str(IMAGES / "digit-1.png"),
    ).stdout  # fmt: skip
    assert f"{MAP_SIZE} mnist-test examples" in text and "nearest its own class" in text
    assert "Inputs on the map" in text and "mnist-test:1" in text
    assert_png(plot, SIZE)
    rows = csv.read_text().splitlines()
    assert rows[0] == "index,label,class_name,predicted,x,y" and len(rows) == MAP_SIZE + 1
    first = rows[1].split(",")
    assert int(first[0]) == digits_map.indices[0] and int(first[1]) == digits_map.labels[0]
    xs = [float(r.split(",")[4]) for r in rows[1:]]
    np.testing.assert_allclose(xs, digits_map.coords[:, 0], rtol=1e-5, atol=1e-5)
    run("digits", "--num", str(MAP_SIZE), "--out", str(npy))
    assert np.array_equal(np.load(npy), digits_map.coords)
    body = json.loads(run("digits", "--num", "20", "--json", "-i", "mnist-test:1").stdout)
    assert len(body["coords"]) == 20 and body["method"] == "pca"
    assert 0 < sum(body["explained"]) <= 1 and body["inputs"][0]["input"] == "mnist-test:1"


def test_map_command_bad_input(run, tmp_path: Path) -> None:
    assert "csv or .npy" in run("--num", "5", "--out", str(tmp_path / "m.txt"), code=2).stderr
    unknown = run("nope", "--num", "3", code=1)
    assert "404" in unknown.stderr and "nope" in unknown.stderr
    bad_input = run("--num", "5", "-i", "xor-test:0", code=1)
    assert "400" in bad_input.stderr and "shape" in bad_input.stderr
    run("--num", "1", code=2)
    run("--num", "10001", code=2)


def test_the_sdks_bound_is_the_services(live_server) -> None:
    from clients.ops.embedding_map import MAX_MAP_SIZE

    spec = httpx.get(f"{live_server.url}/openapi.json").json()
    parameters = spec["paths"]["/v1/models/{model}/projection/points"]["get"]["parameters"]
    num = next(p for p in parameters if p["name"] == "num")
    assert num["schema"]["maximum"] == MAX_MAP_SIZE
