"""`Client.embedding_map(method=, layer=)`, `project(method=, layer=)` and `layerlens map
--method tsne --layer ...` against the live server: the same points as the service's."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import numpy as np
from typer.testing import CliRunner

from clients import Client
from clients.cli import app
from clients.plots.embedding_map import SIZE
from tests.clients.helpers import assert_png


def test_the_sdk_draws_and_places_on_the_services_tsne_map(live_server) -> None:
    query = "method=tsne&layer=dense1&num=100&seed=2"
    raw = httpx.get(f"{live_server.url}/v1/models/digits-cnn/projection/points?{query}").json()
    with Client(live_server.url) as client:
        drawn = client.embedding_map("digits-cnn", num=100, seed=2, method="tsne", layer="dense1")
        described = client.projection("digits-cnn", method="tsne", layer="dense1")
        refs = [f"mnist-test:{int(i)}" for i in drawn.indices[:3]]
        placed = client.project("digits-cnn", refs, method="tsne", layer="dense1")
    assert (drawn.method, drawn.layer, drawn.explained.size) == ("tsne", "dense1", 0)
    assert drawn.indices.tolist() == raw["indices"]
    assert np.array_equal(drawn.coords, np.asarray(raw["coords"]))
    assert described.placement == {"rule": "knn-inverse-square", "k": 10}
    assert ("tsne", "dense1") in described.maps and described.components.size == 0
    assert placed.nearest.tolist() == drawn.indices[:3].tolist()
    np.testing.assert_allclose(placed.coords, drawn.coords[:3], atol=1e-3 * np.ptp(drawn.coords))


def test_map_command_takes_method_and_layer(live_server, tmp_path: Path) -> None:
    plot = tmp_path / "tsne.png"
    args = ["--url", live_server.url, "map", "digits-cnn", "--method", "tsne", "--layer", "dense1"]
    result = CliRunner().invoke(app, [*args, "--num", "50", "--json", "-i", "mnist-test:1"])
    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout)
    assert (body["method"], body["layer"], len(body["coords"])) == ("tsne", "dense1", 50)
    assert body["explained"] == [] and body["inputs"][0]["input"] == "mnist-test:1"
    drawn = CliRunner().invoke(app, [*args, "--plot", str(plot)])
    assert drawn.exit_code == 0, drawn.output
    assert "t-sne of" in drawn.stdout.lower() or "tsne of" in drawn.stdout.lower()
    assert_png(plot, SIZE)
    bad = CliRunner().invoke(app, ["--url", live_server.url, "map", "digits", "--method", "nope"])
    assert bad.exit_code != 0 and "pca, tsne, umap" in " ".join(bad.output.split())


def test_the_sdk_asks_for_each_points_verdict(live_server) -> None:
    query = "method=tsne&num=60&seed=4&ood=true"
    raw = httpx.get(f"{live_server.url}/v1/models/digits/projection/points?{query}").json()
    with Client(live_server.url) as client:
        drawn = client.embedding_map("digits", num=60, seed=4, method="tsne", ood=True)
        plain = client.embedding_map("digits", num=60, seed=4, method="tsne")
    assert drawn.ood == raw["ood"]
    assert drawn.outside.tolist() == [v["verdict"] == "out" for v in raw["ood"]]
    assert plain.ood is None and plain.outside.size == 0
    assert drawn.to_json()["ood"] == raw["ood"] and "ood" not in plain.to_json()
