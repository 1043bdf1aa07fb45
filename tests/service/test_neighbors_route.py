"""``:neighbors`` on the live server, checked against the model's own embeddings."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest

from core.manifest import NeighborIndexRecord, neighbor_index_paths
from core.neighbors import search
from service.runtime.indexes import CorruptIndex, NeighborIndex
from tests.service.helpers import assert_error, encode_npy, image_bytes, mnist_example

TEST_1 = {"examples": [{"dataset": "mnist-test", "index": 1}]}


def neighbors(http: httpx.Client, model: str, query: str = "", **request: Any) -> dict[str, Any]:
    response = http.post(f"/v1/models/{model}:neighbors?{query}", **request)
    assert response.status_code == 200, response.text
    return response.json()


@pytest.mark.parametrize(
    ("split", "index", "space"),
    [("test", 1, "embedding"), ("test", 1, "pixel"), ("train", 7, "embedding"),
     ("train", 49_999, "pixel")],
)  # fmt: skip
def test_an_example_is_its_own_nearest_neighbour(
    http: httpx.Client, split: str, index: int, space: str
) -> None:
    ref = f"mnist-{split}"
    body = neighbors(
        http, "digits", f"dataset={ref}&k=3&space={space}",
        json={"examples": [{"dataset": ref, "index": index}]},
    )  # fmt: skip
    (result,) = body["results"]
    first = result["neighbors"][0]
    label = http.get(f"/v1/datasets/{ref}/{index}").json()["label"]
    assert (first["index"], first["class_id"]) == (index, label)
    assert first["distance"] == pytest.approx(0.0, abs=1e-3)
    distances = [n["distance"] for n in result["neighbors"]]
    assert distances == sorted(distances) and len(distances) == 3


def test_distances_are_those_of_the_served_embeddings(http: httpx.Client) -> None:
    body = neighbors(http, "digits", "k=5", json=TEST_1)
    assert body["dataset"] == "mnist-train" and body["space"] == "embedding"
    found = body["results"][0]["neighbors"]
    image, _label = mnist_example(http, 1)
    train = [http.get(f"/v1/datasets/mnist-train/{n['index']}").json() for n in found]
    assert [t["label"] for t in train] == [n["class_id"] for n in found]
    embedded = http.post(
        "/v1/models/digits:embed", json={"instances": [image, *(t["instance"] for t in train)]}
    ).json()["embeddings"]
    query, others = np.asarray(embedded[0]), np.asarray(embedded[1:])
    np.testing.assert_allclose(
        [n["distance"] for n in found], np.linalg.norm(others - query, axis=1), rtol=1e-3
    )
    # and nothing in a sample of the split is nearer than the fifth neighbour
    sample = http.get("/v1/datasets/mnist-train?start=0&num=500").json()["instances"]
    sample_embedded = np.asarray(
        http.post("/v1/models/digits:embed", json={"instances": sample}).json()["embeddings"]
    )
    assert np.linalg.norm(sample_embedded - query, axis=1).min() >= found[-1]["distance"] - 1e-3


def test_the_vote_and_its_agreement_with_the_prediction(http: httpx.Client) -> None:
    body = neighbors(http, "digits", "k=7&metric=cosine", json=TEST_1)
    result = body["results"][0]
    labels = [n["class_id"] for n in result["neighbors"]]
    counts = np.bincount(labels, minlength=10)
    assert result["vote"]["class_id"] == int(counts.argmax())
    assert result["vote"]["share"] == pytest.approx(counts.max() / 7)
    assert result["agrees"] == (result["vote"]["class_id"] == result["predicted"])
    assert all(0 <= n["distance"] <= 2 for n in result["neighbors"])


def test_json_uploads_and_npy_are_searched_like_examples(http: httpx.Client) -> None:
    image, _label = mnist_example(http, 1)
    pixels = np.asarray([image], dtype=np.float32)
    by_example = neighbors(http, "digits", "k=4", json=TEST_1)
    by_json = neighbors(http, "digits", "k=4", json={"instances": [image]})
    by_npy = neighbors(
        http, "digits", "k=4",
        content=encode_npy(pixels), headers={"content-type": "application/x-npy"},
    )  # fmt: skip
    by_png = neighbors(
        http, "digits", "k=4", files={"files": ("one.png", image_bytes(pixels[0]), "image/png")}
    )
    for other in (by_json, by_npy, by_png):
        assert other["results"] == by_example["results"]


def test_limits_and_mistakes_are_named_4xx(http: httpx.Client, live_server: Any) -> None:
    url = "/v1/models/digits:neighbors"
    assert_error(http.post(f"{url}?dataset=fashion-mnist-train", json=TEST_1), 404, "index")
    assert_error(http.post(f"{url}?dataset=../../etc", json=TEST_1), 404, "index")
    assert_error(http.post(f"{url}?k=0", json=TEST_1), 400, "k")
    assert_error(http.post(f"{url}?metric=manhattan", json=TEST_1), 400, "metric")
    # xor-test holds 160 examples: k=161 is more than the split (and than the cap of 100)
    xor = http.post("/v1/models/xor:neighbors?dataset=xor-test&k=161", json={"instances": [[0, 1]]})
    assert_error(xor, 400, "k")
    cap = live_server.settings.max_neighbor_queries
    many = {"instances": [[[0] * 28] * 28] * (cap + 1)}
    assert_error(http.post(url, json=many), 413, str(cap))


def _index_files(tmp_path: Path) -> NeighborIndexRecord:
    import hashlib

    vectors = np.random.default_rng(0).normal(size=(50, 4)).astype(np.float32)
    labels = np.arange(50, dtype=np.uint8) % 3
    paths = neighbor_index_paths(tmp_path, "mnist-test")
    paths[0].parent.mkdir(parents=True)
    digests = []
    for path, array in zip(paths, (vectors, labels), strict=True):
        np.save(path, array, allow_pickle=False)
        digests.append(hashlib.sha256(path.read_bytes()).hexdigest())
    return NeighborIndexRecord(
        dataset="mnist-test", layer="embedding", rows=50, width=4,
        sha256=digests[0], labels_sha256=digests[1],
    )  # fmt: skip


def test_an_index_that_does_not_match_its_checksum_is_refused(tmp_path: Path) -> None:
    record = _index_files(tmp_path)
    index = NeighborIndex.open(tmp_path, record)
    assert isinstance(index.vectors, np.memmap) and not index.vectors.flags.writeable
    vectors_path, _labels = neighbor_index_paths(tmp_path, "mnist-test")
    data = bytearray(vectors_path.read_bytes())
    data[-1] ^= 0xFF
    vectors_path.write_bytes(bytes(data))
    with pytest.raises(CorruptIndex, match="checksum"):
        NeighborIndex.open(tmp_path, record)


def test_search_is_exact_against_brute_force() -> None:
    rng = np.random.default_rng(1)
    rows = rng.normal(size=(10_000, 16)).astype(np.float32)  # > one row chunk
    queries = rng.normal(size=(300, 16)).astype(np.float32)  # > one query chunk
    norms = np.einsum("ij,ij->i", rows, rows)
    found, distances = search(queries, rows, norms, k=5, metric="euclidean")
    q64, r64 = queries.astype(np.float64), rows.astype(np.float64)
    brute = np.sqrt(
        np.maximum((q64**2).sum(1)[:, None] - 2 * q64 @ r64.T + (r64**2).sum(1)[None, :], 0)
    )
    np.testing.assert_array_equal(found, np.argsort(brute, axis=1)[:, :5])
    np.testing.assert_allclose(distances, np.sort(brute, axis=1)[:, :5], rtol=1e-4, atol=1e-4)
    unit = rows / np.linalg.norm(rows, axis=1, keepdims=True)
    cos_found, _ = search(queries, rows, norms, k=3, metric="cosine")
    cosines = (queries / np.linalg.norm(queries, axis=1, keepdims=True)) @ unit.T
    np.testing.assert_array_equal(cos_found, np.argsort(-cosines, axis=1)[:, :3])


def test_the_agreement_evaluation_is_served_with_the_metrics(http: httpx.Client) -> None:
    body = http.get("/v1/models/digits/versions/1/metrics?kind=agreement").json()
    datasets = {row["dataset"]: row["data"] for row in body["evaluations"]}
    assert set(datasets) == {"mnist-test", "fashion-mnist-test"}
    assert datasets["mnist-test"]["k"] == 8 and len(datasets["mnist-test"]["buckets"]) == 9


def test_concurrent_requests_are_searched_together_each_getting_its_own_answer(
    http: httpx.Client, live_server: Any
) -> None:
    """The searches of concurrent requests go through one batcher: answers must not mix."""
    from concurrent.futures import ThreadPoolExecutor

    def ask(index: int) -> list[int]:
        body = neighbors(
            http, "digits", "k=4&space=embedding",
            json={"examples": [{"dataset": "mnist-test", "index": index}]},
        )  # fmt: skip
        return [n["index"] for n in body["results"][0]["neighbors"]]

    def searches() -> tuple[float, float]:
        text = http.get("/metrics").text
        count = total = 0.0
        for line in text.splitlines():
            if 'model="digits"' not in line:
                continue
            if line.startswith("layerlens_neighbor_search_batch_size_count"):
                count = float(line.rsplit(" ", 1)[1])
            elif line.startswith("layerlens_neighbor_search_batch_size_sum"):
                total = float(line.rsplit(" ", 1)[1])
        return count, total

    indices = list(range(40))
    alone = [ask(i) for i in indices]
    before = searches()
    with ThreadPoolExecutor(max_workers=16) as pool:
        for _round in range(3):
            assert list(pool.map(ask, indices)) == alone
    count, total = (after - was for after, was in zip(searches(), before, strict=True))
    assert total == 3 * len(indices), f"{total} queries searched for {3 * len(indices)} sent"
    # Sixteen clients at once: at least some searches carried several queries.
    assert count < total, f"{count} searches for {total} queries: none was batched"
