"""The stored t-SNE maps on the live server: ``method=`` and ``layer=`` on the three
projection routes, new inputs placed among the map's examples, the stored cluster measure,
and the errors that name the choices (400) or the command that builds a map (404)."""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest

from core.manifest import MAPS_DIR, Manifest, map_paths
from core.maps import class_share
from tests.fixtures.server import run_server
from tests.service.helpers import assert_error, copy_versions

#: A test example placed on a map lands within this share of the map's span of its own
#: point (docs/architecture.md, "The maps"): its vector is the index's to the LiteRT copy's
#: 1e-4, so it takes almost all of the inverse-square weight.
OWN_POINT_BOUND = 1e-3


def ok(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    return response.json()


@pytest.mark.parametrize(("model", "layer"), [("digits", "embedding"), ("digits-cnn", "dense1")])
def test_the_points_are_the_stored_map(http: httpx.Client, live_server, model, layer) -> None:
    version_dir = live_server.settings.models_dir / model / "1"
    record = Manifest.read(version_dir).map("tsne", layer)
    assert record is not None
    base = f"/v1/models/{model}/versions/1"
    described = ok(http.get(f"{base}/projection?method=tsne&layer={layer}"))
    assert (described["method"], described["layer"], described["points"]) == (
        "tsne", layer, record.points,
    )  # fmt: skip
    assert described["placement"] == {"rule": "knn-inverse-square", "k": 10}
    assert {"method": "tsne", "layer": layer} in described["maps"]
    assert {"method": "pca", "layer": layer} in described["maps"]
    body = ok(http.get(f"{base}/projection/points?method=tsne&layer={layer}&num=10000"))
    coords_path, rows_path = map_paths(version_dir, "tsne", record.dataset, layer)
    assert body["size"] == record.points and "explained" not in body
    assert body["indices"] == np.load(rows_path).tolist()
    assert np.array_equal(np.asarray(body["coords"], dtype=np.float32), np.load(coords_path))
    labels = np.load(version_dir / "neighbors" / f"{record.dataset}.labels.npy")
    assert body["labels"] == labels[np.load(rows_path)].tolist()


def test_a_test_example_lands_on_its_own_point(http: httpx.Client) -> None:
    body = ok(http.get("/v1/models/digits/projection/points?method=tsne&num=6&seed=3"))
    examples = [{"dataset": "mnist-test", "index": i} for i in body["indices"]]
    placed = ok(http.post("/v1/models/digits:project?method=tsne", json={"examples": examples}))
    assert placed["method"] == "tsne" and placed["nearest"] == body["indices"]
    every = np.asarray(ok(http.get("/v1/models/digits/projection/points?method=tsne"))["coords"])
    span = float(np.ptp(every, axis=0).max())
    gaps = np.linalg.norm(np.asarray(placed["coords"]) - np.asarray(body["coords"]), axis=1)
    assert gaps.max() <= OWN_POINT_BOUND * span, (gaps, span)
    assert max(placed["distance"]) < 1e-3


def test_an_input_of_every_form_lands_where_its_example_does(http: httpx.Client) -> None:
    example = ok(http.get("/v1/datasets/mnist-test/5"))
    by_example = ok(
        http.post(
            "/v1/models/digits:project?method=tsne",
            json={"examples": [{"dataset": "mnist-test", "index": 5}]},
        )
    )
    inline = ok(
        http.post(
            "/v1/models/digits:project?method=tsne", json={"instances": [example["instance"]]}
        )
    )
    np.testing.assert_allclose(inline["coords"], by_example["coords"], atol=1e-4)


def test_the_stored_cluster_measure_is_that_of_the_served_points(http: httpx.Client) -> None:
    stored = ok(http.get("/v1/models/digits-cnn/versions/1/metrics?kind=map"))["evaluations"]
    assert len(stored) == 1
    for entry in stored[0]["data"]["maps"]:
        query = f"method={entry['method']}&layer={entry['layer']}"
        points = ok(
            http.get(
                f"/v1/models/digits-cnn/versions/1/projection/points?{query}"
                f"&num={entry['points']}&seed={entry['seed']}"
            )
        )
        assert len(points["coords"]) == entry["points"]
        coords = np.asarray(points["coords"], dtype=np.float32)
        assert class_share(coords, np.asarray(points["labels"])) == entry["share"], entry


@pytest.mark.parametrize("query", ["ood=true", "ood_method=energy", "method=tsne&ood=true"])
def test_each_points_verdict_is_what_predict_says_of_its_example(
    http: httpx.Client, query: str
) -> None:
    """``ood`` on the map's points: per point the verdict ``:predict?ood=true`` gives the
    same test example (scored from the stored embedding rather than a new run of it), so
    the flags the page draws are the service's own answers."""
    method = "energy" if "energy" in query else None
    body = ok(http.get(f"/v1/models/digits/projection/points?num=40&seed=1&{query}"))
    assert "ood" not in ok(http.get("/v1/models/digits/projection/points?num=40&seed=1"))
    instances = [ok(http.get(f"/v1/datasets/mnist-test/{i}"))["instance"] for i in body["indices"]]
    asked = f"ood_method={method}" if method else "ood=true"
    answer = ok(http.post(f"/v1/models/digits:predict?{asked}", json={"instances": instances}))
    want = [p["ood"] for p in answer["predictions"]]
    assert len(body["ood"]) == len(want) == 40
    for got, expected in zip(body["ood"], want, strict=True):
        assert (got["method"], got["verdict"]) == (expected["method"], expected["verdict"])
        assert got["threshold"] == expected["threshold"]
        assert got["score"] == pytest.approx(expected["score"], rel=1e-3, abs=1e-4)
    if method:
        assert {v["method"] for v in body["ood"]} == {"energy"}
    base = "/v1/models/digits/projection/points?num=5"
    assert_error(http.get(f"{base}&ood_method=isolation"), 400, "isolation", "knn")


def test_mistakes_name_the_choices_or_the_command(http: httpx.Client) -> None:
    base = "/v1/models/digits"
    for route in ("/projection", "/projection/points"):
        assert_error(http.get(f"{base}{route}?method=isomap"), 400, "isomap", "pca, tsne, umap")
        assert_error(http.get(f"{base}{route}?method=tsne&layer=nope"), 400, "nope", "embedding")
    project = {"examples": [{"dataset": "mnist-test", "index": 0}]}
    assert_error(http.post(f"{base}:project?method=isomap", json=project), 400, "pca, tsne, umap")
    assert_error(http.get(f"{base}/projection?method=umap"), 404, "umap", "layerlens-train train")


def _read_only(folder: Path) -> None:
    for root, dirs, files in os.walk(folder):
        for name in files + dirs:
            path = Path(root) / name
            path.chmod(path.stat().st_mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))
    folder.chmod(folder.stat().st_mode & ~stat.S_IWUSR)


def _snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    return {
        str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime_ns)
        for p in folder.rglob("*")
    }


def test_served_from_a_read_only_volume_and_missing_or_bad_maps_are_named(
    http: httpx.Client, model_repository, tmp_path: Path
) -> None:
    """A second server over read-only copies: digits v1 serves the same t-SNE map; xor
    without its maps answers 404 naming the command; digits-cnn with a damaged one 503."""
    models = copy_versions(
        model_repository.models_dir,
        tmp_path / "models",
        {"digits": [1], "xor": [1], "digits-cnn": [1]},
    )
    xor = models / "xor" / "1"
    Manifest.read(xor).model_copy(update={"maps": ()}).write(xor)
    (xor / MAPS_DIR).rename(tmp_path / "xor-maps")
    coords_path, _ = map_paths(models / "digits-cnn" / "1", "tsne", "mnist-test", "embedding")
    damaged = bytearray(coords_path.read_bytes())
    damaged[-1] ^= 0xFF
    coords_path.write_bytes(bytes(damaged))
    _read_only(models)
    files = _snapshot(models)
    before = ok(http.get("/v1/models/digits/versions/1/projection/points?method=tsne&num=50"))
    settings = model_repository.settings(models_dir=models, reload_interval_s=0)
    try:
        with run_server(settings) as server, server.client() as fresh:
            after = ok(fresh.get("/v1/models/digits/projection/points?method=tsne&num=50"))
            assert after == before
            placed = ok(
                fresh.post(
                    "/v1/models/digits:project?method=tsne",
                    json={"examples": [{"dataset": "mnist-test", "index": after["indices"][0]}]},
                )
            )
            assert placed["nearest"] == [after["indices"][0]]
            assert_error(fresh.get("/v1/models/xor/projection?method=tsne"), 404,
                         "no tsne map", "layerlens-train train")  # fmt: skip
            assert_error(fresh.get("/v1/models/digits-cnn/projection?method=tsne"), 503,
                         "checksum")  # fmt: skip
        assert _snapshot(models) == files  # nothing written, even where permissions allow it
    finally:
        for root, dirs, _files in os.walk(models):
            for name in dirs:
                (Path(root) / name).chmod(0o755)
        models.chmod(0o755)
