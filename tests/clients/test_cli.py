"""Every `layerlens` command against the real service on loopback, in process."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from clients import Client
from clients.cli import app
from clients.inputs import FIT_VALUES
from clients.plots import boundary, interpolation, metrics, weights
from tests.clients.helpers import assert_png, example_image, write_png


@pytest.fixture(scope="module")
def run(live_server):
    runner = CliRunner()

    def invoke(*args: str, code: int = 0):
        result = runner.invoke(app, ["--url", live_server.url, *args])
        assert result.exit_code == code, result.output
        return result

    return invoke


def test_models_table_json_and_one_model(run) -> None:
    assert "digits" in run("models").stdout
    listed = json.loads(run("models", "--json").stdout)
    assert {"digits", "xor"} <= {m["name"] for m in listed}
    detail = run("models", "digits", "--version", "1").stdout
    assert "embedding" in detail and "(28, 28)" in detail
    assert json.loads(run("models", "xor", "--json").stdout)["name"] == "xor"


def test_predict_table_and_json(run, live_server, tmp_path: Path, monkeypatch) -> None:
    with Client(live_server.url) as client:
        png = write_png(client, tmp_path / "two.png", "mnist-test:1")
    monkeypatch.chdir(tmp_path)
    table = run("predict", "two.png", "mnist-test:2").stdout
    assert "two.png" in table and "mnist-test:2" in table and "top-3" in table
    rows = json.loads(run("predict", str(png), "mnist-test:1", "--json").stdout)["predictions"]
    assert [r["input"] for r in rows] == [str(png), "mnist-test:1"]
    assert rows[0]["label"] == rows[1]["label"]
    assert len(rows[0]["probabilities"]) == 10 and len(rows[0]["top_k"]) == 3


def test_predict_fit_takes_the_services_values(run, live_server, tmp_path: Path) -> None:
    with Client(live_server.url) as client:
        big = tmp_path / "big.png"
        example_image(client, "mnist-test:1").resize((56, 56)).save(big)
        expected = client.predict("digits", big, fit="pad-resize")[0]
    row = json.loads(run("predict", str(big), "--fit", "pad-resize", "--json").stdout)
    assert row["predictions"][0]["probabilities"] == pytest.approx(
        expected.probabilities.tolist(), abs=1e-6
    )
    refused = run("predict", str(big), "--fit", "sideways", code=2)
    assert all(value in refused.stderr for value in FIT_VALUES)


def test_predict_many_inputs_in_batches_keeps_the_order(run) -> None:
    refs = [f"mnist-test:{i}" for i in range(7)]
    rows = json.loads(run("predict", *refs, "--batch-size", "3", "--json").stdout)["predictions"]
    assert [r["input"] for r in rows] == refs


def test_embed_saves_vectors_and_head_agrees_with_predict(run, tmp_path: Path) -> None:
    out = tmp_path / "v.npy"
    table = run("embed", "mnist-test:1", "mnist-test:2", "--out", str(out)).stdout
    assert "(128,)" in table
    assert np.load(out).shape == (2, 128)
    payload = json.loads(run("embed", "mnist-test:1", "--layer", "flatten", "--json").stdout)
    assert payload["layer"] == "flatten" and len(payload["embeddings"][0]) == 784
    rows = json.loads(run("head", "mnist-test:1", "mnist-test:2", "--json").stdout)["predictions"]
    assert all(r["max_abs_diff_vs_predict"] < 1e-5 for r in rows)
    assert "v.npy[1]" in run("head", "--embeddings", str(out)).stdout
    run("head", code=2)  # neither inputs nor --embeddings


def test_interpolate_pixel_plot(run, tmp_path: Path) -> None:
    plot = tmp_path / "pixel.png"
    text = run("interpolate", "mnist-test:1", "mnist-test:2", "--plot", str(plot)).stdout
    assert "100 alphas" in text
    assert_png(plot, interpolation.SIZE)


def test_interpolate_embedding_json(run, tmp_path: Path) -> None:
    plot = tmp_path / "embedding.png"
    args = ["mnist-test:1", "mnist-test:2", "--space", "embedding", "--start", "-1", "--stop", "2"]
    out = run("interpolate", *args, "--num", "50", "--json", "--plot", str(plot)).stdout
    body = json.loads(out)
    assert body["space"] == "embedding" and len(body["points"]) == 50
    assert_png(plot, interpolation.SIZE)


def test_metrics_tables_and_plots(run, tmp_path: Path) -> None:
    text = run("metrics", "digits").stdout
    assert "test" in text and "per class" in text
    assert json.loads(run("metrics", "digits", "--json").stdout)["model"] == "digits"
    test_plot, history_plot = tmp_path / "test.png", tmp_path / "history.png"
    run("metrics", "digits", "--kind", "test", "--plot", str(test_plot))
    assert_png(test_plot, metrics.grid_size(3))  # confusion, per class, confidence
    run("metrics", "digits", "--kind", "history", "--plot", str(history_plot))
    assert_png(history_plot, metrics.grid_size(2))  # loss, accuracy
    cross = tmp_path / "cross.png"
    run("metrics", "fashion", "--kind", "cross-dataset", "--plot", str(cross))
    assert_png(cross, metrics.grid_size(2))  # confidence, predicted classes
    all_plot = tmp_path / "all.png"
    run("metrics", "digits", "--plot", str(all_plot))
    with Image.open(all_plot) as image:
        assert image.size[0] == metrics.grid_size(3)[0]


def test_weights_plot_and_summary(run, tmp_path: Path) -> None:
    plot = tmp_path / "weights.png"
    assert "(784, 128)" in run("weights", "digits", "--plot", str(plot), "--units", "32").stdout
    assert_png(plot, weights.figure_size(32))
    assert len(json.loads(run("weights", "xor", "--json").stdout)["weights"]) == 2
    failed = run("weights", "xor", "--plot", str(tmp_path / "x.png"), code=2)
    assert "not an image" in failed.stderr


def test_xor_decision_boundary_plot(run, tmp_path: Path) -> None:
    plot = tmp_path / "boundary.png"
    assert "21x21 grid" in run("boundary", "xor", "--steps", "21", "--plot", str(plot)).stdout
    assert_png(plot, boundary.SIZE)
    assert "not 2 numbers" in run("boundary", "digits", code=2).stderr


def test_server_errors_are_one_line_and_exit_1(run) -> None:
    failed = run("predict", "mnist-test:1", "--model", "no-such-model", code=1)
    assert "404" in failed.stderr and "no-such-model" in failed.stderr
    assert "Traceback" not in failed.output
    bad_layer = run("embed", "mnist-test:1", "--layer", "nope", code=1)
    assert "400" in bad_layer.stderr


def test_bad_local_input_exits_2(run, tmp_path: Path) -> None:
    failed = run("predict", str(tmp_path / "missing.png"), code=2)
    assert "cannot read image file" in failed.stderr


def test_server_down_is_reported_with_the_url() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # bound, never listening: connections are refused
        url = f"http://127.0.0.1:{port}"
        result = CliRunner().invoke(app, ["--url", url, "--retries", "1", "models"])
    assert result.exit_code == 1
    assert "cannot reach" in result.stderr and url in result.stderr
