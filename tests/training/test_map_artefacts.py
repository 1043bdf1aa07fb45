"""The trainer's 2-D maps (training.maps): the artefacts the manifest declares, their
"separate clusters" evaluation, and older versions gaining them without retraining."""

from __future__ import annotations

import hashlib
import shutil
import sqlite3
from pathlib import Path

import numpy as np

from core.db import KIND_MAP, make_engine, store
from core.manifest import MAPS_DIR, SAVED_MODEL_DIR, Manifest, map_paths, tree_sha256
from core.maps import class_share, sample
from tests.training.helpers import copy_database, rerun
from training import pipeline
from training.recipes import get_spec

QUICK_POINTS = pipeline.PROFILES["quick"].max_map_points


def test_every_map_has_the_declared_shape_checksum_and_size(model_repository) -> None:
    seen = set()
    for name in model_repository.models:
        version_dir = model_repository.models_dir / name / "1"
        manifest = Manifest.read(version_dir)
        spec = get_spec(name)
        expected = {
            (m, layer) for m in spec.map_methods for layer in ("embedding", *spec.map_layers)
        }
        assert {(r.method, r.layer) for r in manifest.maps} == expected, name
        for record in manifest.maps:
            coords_path, rows_path = map_paths(
                version_dir, record.method, record.dataset, record.layer
            )
            index = manifest.neighbor_index(record.dataset, record.layer)
            assert index is not None
            assert record.points == min(QUICK_POINTS, index.rows)
            assert hashlib.sha256(coords_path.read_bytes()).hexdigest() == record.sha256
            assert hashlib.sha256(rows_path.read_bytes()).hexdigest() == record.rows_sha256
            assert record.size_bytes == coords_path.stat().st_size + rows_path.stat().st_size
            coords, rows = np.load(coords_path), np.load(rows_path)
            assert coords.shape == (record.points, 2) and coords.dtype == np.float32
            assert np.isfinite(coords).all() and np.ptp(coords, axis=0).min() > 0
            assert rows.dtype == np.int32
            assert np.array_equal(rows, sample(index.rows, record.points, record.seed))
            assert record.library.startswith("openTSNE ") and record.seconds >= 0
            seen.add((name, record.layer))
    assert ("digits-cnn", "dense1") in seen


def test_the_cluster_evaluation_is_stored_per_map_with_pca_beside_it(model_repository) -> None:
    engine = make_engine(model_repository.database_url)
    try:
        rows = store.get_evaluations(engine, "digits-cnn", 1, kind=KIND_MAP)
    finally:
        engine.dispose()
    assert len(rows) == 1 and rows[0].dataset == "mnist-test"
    report = rows[0].data
    pairs = {(m["method"], m["layer"]): m for m in report["maps"]}
    assert set(pairs) == {(m, layer) for m in ("tsne", "pca") for layer in ("embedding", "dense1")}
    version_dir = model_repository.models_dir / "digits-cnn" / "1"
    record = Manifest.read(version_dir).map("tsne")
    assert record is not None
    coords_path, rows_path = map_paths(version_dir, "tsne", "mnist-test", "embedding")
    labels = np.load(version_dir / "neighbors" / "mnist-test.labels.npy")[np.load(rows_path)]
    entry = pairs["tsne", "embedding"]
    assert entry["share"] == class_share(np.load(coords_path), labels)
    assert entry["points"] == record.points and report["k"] == 10
    for entry in pairs.values():
        assert 0.0 <= entry["share"] <= 1.0 and 0.0 <= entry["layer_share"] <= 1.0


def test_an_older_version_gains_its_maps_without_retraining(model_repository, tmp_path) -> None:
    """xor v1 copied with its maps and its map evaluation taken away: the next run (what
    `make run` does) adds both back and leaves the SavedModel as it was."""
    models = tmp_path / "models"
    shutil.copytree(model_repository.models_dir / "xor", models / "xor")
    database = copy_database(model_repository, tmp_path)
    with sqlite3.connect(database) as connection:
        connection.execute("DELETE FROM evaluations WHERE model = 'xor' AND kind = ?", (KIND_MAP,))
    version_dir = models / "xor" / "1"
    manifest = Manifest.read(version_dir)
    manifest.model_copy(update={"maps": ()}).write(version_dir)
    shutil.rmtree(version_dir / MAPS_DIR)
    weights = tree_sha256(version_dir / SAVED_MODEL_DIR)
    engine = make_engine(f"sqlite:///{database}")
    try:
        assert not store.has_evaluation(engine, "xor", 1, KIND_MAP)
        outcome = rerun(get_spec("xor"), models, engine, model_repository.data_dir)
        assert outcome.status == "skipped"
        assert store.has_evaluation(engine, "xor", 1, KIND_MAP)
    finally:
        engine.dispose()
    again = Manifest.read(version_dir)
    assert [(r.method, r.layer) for r in again.maps] == [("tsne", "embedding")]
    assert tree_sha256(version_dir / SAVED_MODEL_DIR) == weights
    assert all(Path(p).is_file() for p in map_paths(version_dir, "tsne", "xor-test", "embedding"))


def test_a_one_unit_layer_is_mapped_from_a_random_start() -> None:
    """digits-h1's embedding has one unit, which PCA cannot initialise a 2-D map from."""
    from training.maps import fit_tsne

    vectors = np.random.default_rng(0).normal(size=(120, 1)).astype(np.float32)
    coords, params = fit_tsne(vectors, seed=0)
    assert coords.shape == (120, 2) and np.isfinite(coords).all()
    assert params["initialization"] == "random" and params["gradient"] == "bh"


def test_only_the_whole_split_maps_pay_for_the_fft_grid() -> None:
    """The full recipes' 2,500-point maps are fitted by Barnes-Hut (half the CPU of the FFT
    interpolation there, the same cluster share on the validation split); the README's
    three models' 10,000-point maps keep FFT, with which their figures were measured."""
    from training.maps import gradient_method
    from training.recipes import CATALOG, WHOLE_TEST_SPLIT

    methods = {name: gradient_method(spec.map_points) for name, spec in CATALOG.items()}
    whole = {name for name, spec in CATALOG.items() if spec.map_points == WHOLE_TEST_SPLIT}
    assert whole == {"digits", "digits-cnn", "fashion"}
    assert {name for name, method in methods.items() if method == "fft"} == whole
    assert gradient_method(QUICK_POINTS) == "bh"


def test_a_map_fitted_with_other_settings_is_refitted_in_place(model_repository, tmp_path) -> None:
    """A t-SNE map an earlier release fitted with another setting (or another number of
    points) is what ``make run`` refits; a current one it leaves alone."""
    from training.maps import TSNE_SETTING, add_maps, current

    version_dir = tmp_path / "xor" / "1"
    shutil.copytree(model_repository.models_dir / "xor" / "1", version_dir)
    manifest = Manifest.read(version_dir)
    (fitted,) = manifest.maps
    assert fitted.params["setting"] == TSNE_SETTING
    assert current(manifest, fitted, QUICK_POINTS)
    assert not current(manifest, fitted, fitted.points - 1)
    older = fitted.model_copy(update={"params": {**fitted.params, "setting": "earlier"}})
    manifest.model_copy(update={"maps": (older,)}).write(version_dir)
    options = {"methods": ("tsne",), "layers": (), "points": QUICK_POINTS, "seed": 0}
    updated, report = add_maps(version_dir, **options)
    assert report is not None and [m["method"] for m in report["maps"]] == ["tsne", "pca"]
    (record,) = updated.maps
    assert record.params["setting"] == TSNE_SETTING
    assert Manifest.read(version_dir).maps == (record,)
    coords_path, _ = map_paths(version_dir, "tsne", record.dataset, "embedding")
    assert hashlib.sha256(coords_path.read_bytes()).hexdigest() == record.sha256
    assert add_maps(version_dir, **options)[1] is None
