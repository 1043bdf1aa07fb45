"""The out-of-distribution calibration (training.ood): made per version from the validation
split only, recorded in the manifest with checksums, backfilled without retraining, and
the stored ``ood`` evaluation recomputable from the scores."""

from __future__ import annotations

import hashlib
import json
import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import Engine

from core import datasets
from core.db import KIND_OOD, make_engine, store
from core.manifest import (
    OOD_CALIBRATION_FILE,
    OOD_DIR,
    OOD_MAHALANOBIS_FILE,
    SAVED_MODEL_DIR,
    Manifest,
    ood_knn_file,
)
from core.ood import scores
from tests.fixtures.models import ModelRepository
from tests.service.helpers import copy_versions
from tests.training.helpers import pooled_calibration
from training import neighbors, ood, pipeline
from training.augment import augmented
from training.recipes import get_spec

QUICK = pipeline.PROFILES["quick"]
EVALUATED = QUICK.max_eval_examples or 0


class ScrambledTests(pipeline.DataCache):
    """The real datasets with every test split replaced by noise of the same shape."""

    def get(self, name: str) -> datasets.Dataset:
        data = super().get(name)
        rng = np.random.default_rng(7)
        noise = rng.integers(0, 256, size=data.test.x.shape).astype(data.test.x.dtype)
        return replace(data, test=datasets.Split(noise, data.test.y))


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_every_version_records_its_calibration(model_repository: ModelRepository) -> None:
    for name in model_repository.models:
        version_dir = model_repository.models_dir / name / "1"
        record = Manifest.read(version_dir).ood
        assert record is not None, name
        assert set(record.methods) == set(scores.METHODS)
        assert record.default_method in scores.METHODS and record.keep == ood.KEEP
        assert _sha(version_dir / OOD_DIR / OOD_CALIBRATION_FILE) == record.sha256
        assert _sha(version_dir / OOD_DIR / OOD_MAHALANOBIS_FILE) == record.mahalanobis_sha256
        for method, calibrated in record.methods.items():
            assert sum(calibrated.counts) == record.validation_rows, (name, method)


def test_thresholds_keep_95_percent_of_the_validation_split(
    model_repository: ModelRepository,
) -> None:
    """``digits`` is trained on the handwriting augmentation, so its thresholds keep 95% of
    the validation split's seeded augmented copy; ``fashion`` (no augmentation) of the split
    itself."""
    for name, dataset in (("digits", "mnist"), ("fashion", "fashion-mnist")):
        version_dir = model_repository.models_dir / name / "1"
        manifest = Manifest.read(version_dir)
        assert manifest.ood is not None
        data = datasets.load_dataset(dataset, model_repository.data_dir)
        validation = data.validation.x[: QUICK.max_eval_examples]
        augment = get_spec(name).fit.augment
        if augment is not None:
            validation = augmented(validation, augment, seed=ood.AUGMENT_SEED)
            assert manifest.ood.validation == "mnist-validation-augmented"
        else:
            assert manifest.ood.validation == f"{dataset}-validation"
        got = ood.Scorer.open(version_dir, manifest).scores(validation)
        for method, calibrated in manifest.ood.methods.items():
            kept = (got[method] > calibrated.threshold).mean()
            assert kept == pytest.approx(0.05, abs=0.002), (name, method)
            expected = np.quantile(got[method], 0.95)
            assert calibrated.threshold == pytest.approx(expected, rel=1e-6), (name, method)


def test_calibration_never_reads_a_test_split_and_backfills_without_retraining(
    model_repository: ModelRepository, tmp_path: Path, engine: Engine
) -> None:
    """An older version (no calibration, no ood rows) gains both from a run over datasets
    whose test splits are noise: the same thresholds and default as the fixture's run,
    the weights untouched; only the evaluation, which does read the test split, differs."""
    models_dir = copy_versions(model_repository.models_dir, tmp_path / "models", {"digits": [1]})
    version_dir = models_dir / "digits" / "1"
    original = Manifest.read(version_dir)
    assert original.ood is not None
    shutil.rmtree(version_dir / OOD_DIR)
    original.model_copy(update={"ood": None}).write(version_dir)
    weights = _sha(version_dir / SAVED_MODEL_DIR / "saved_model.pb")
    with engine.begin() as connection:
        connection.exec_driver_sql("DELETE FROM evaluations WHERE kind = 'ood'")
    outcome = pipeline.run_model(
        get_spec("digits"),
        models_dir=models_dir,
        engine=engine,
        cache=ScrambledTests(model_repository.data_dir, seed=0),
        profile=QUICK,
        seed=0,
    )
    rows = {r.dataset: r.data for r in store.get_evaluations(engine, "digits", 1, KIND_OOD)}
    assert outcome.status == "skipped"
    assert _sha(version_dir / SAVED_MODEL_DIR / "saved_model.pb") == weights
    again = Manifest.read(version_dir).ood
    assert again == original.ood
    assert set(rows) == {"fashion-mnist-test", "synthetic", "canvas", "writers"}
    assert rows["canvas"]["flag_only"] and rows["canvas"]["num_out"] == EVALUATED // 4
    fixture_engine = make_engine(model_repository.database_url)
    try:
        before = store.get_evaluations(fixture_engine, "digits", 1, KIND_OOD)
    finally:
        fixture_engine.dispose()
    first = {r.dataset: r.data for r in before}["fashion-mnist-test"]["methods"]["knn"]
    assert rows["fashion-mnist-test"]["methods"]["knn"]["auroc"] != first["auroc"]


def test_the_stored_evaluation_is_recomputed_from_the_scores(
    model_repository: ModelRepository,
) -> None:
    version_dir = model_repository.models_dir / "digits-cnn" / "1"
    manifest = Manifest.read(version_dir)
    engine = make_engine(model_repository.database_url)
    try:
        rows = {r.dataset: r.data for r in store.get_evaluations(engine, "digits-cnn", 1, KIND_OOD)}
    finally:
        engine.dispose()
    n = QUICK.max_eval_examples
    inside = datasets.load_split("mnist", "test", model_repository.data_dir).x[:n]
    outside = datasets.load_split("fashion-mnist", "test", model_repository.data_dir).x[:n]
    scorer = ood.Scorer.open(version_dir, manifest)
    i, o = scorer.scores(inside), scorer.scores(outside)
    stored = rows["fashion-mnist-test"]
    assert stored["num_in"] == len(inside) and stored["num_out"] == len(outside)
    for method in scores.METHODS:
        labels = np.r_[np.zeros(len(inside)), np.ones(len(outside))]
        ranks = np.argsort(np.argsort(np.r_[i[method], o[method]], kind="stable")) + 1
        # Mann-Whitney: AUROC from the ranks (no ties among float scores here)
        u = ranks[labels == 1].sum() - len(outside) * (len(outside) + 1) / 2
        expected = u / (len(inside) * len(outside))
        assert stored["methods"][method]["auroc"] == pytest.approx(expected, abs=1e-4), method
        cut = np.quantile(i[method], 0.95)
        assert stored["methods"][method]["fpr_at_95_tpr"] == pytest.approx(
            (o[method] <= cut).mean(), abs=1e-9
        )


def test_fpr_and_roc_follow_their_definitions() -> None:
    inside = np.arange(100, dtype=np.float64)
    outside = np.arange(90, 190, dtype=np.float64)
    # the cut keeping 95% of inside in is 94.05: outside 90..94 are still called in
    assert ood.fpr_at_tpr(inside, outside) == pytest.approx(0.05)
    assert ood.auroc(np.zeros(3), np.ones(3)) == 1.0
    curve = ood.roc_curve(inside, outside)
    assert curve["flagged_in"][0] == 0.0 and curve["flagged_out"][-1] == 1.0
    assert curve["flagged_out"] == sorted(curve["flagged_out"])


def test_the_default_is_knn_unless_another_method_clearly_beats_it() -> None:
    close = {"knn": 0.90, "mahalanobis": 0.91, "energy": 0.5, "msp": 0.6}
    assert ood.choose_default(close) == "knn"
    clear = {**close, "mahalanobis": 0.90 + ood.CLEAR + 0.005}
    assert ood.choose_default(clear) == "mahalanobis"


def test_knn_keeps_the_embedding_unless_another_layer_is_better() -> None:
    assert ood.choose_knn_layer({"embedding": 0.95, "dense1": 0.9505}, "embedding") == "embedding"
    assert ood.choose_knn_layer({"embedding": 0.95, "dense1": 0.96}, "embedding") == "dense1"
    assert ood.choose_knn_layer({"embedding": 0.95}, "embedding") == "embedding"


def test_the_pooled_candidate_is_a_cnns_last_feature_map(model_repository: ModelRepository):
    cnn = Manifest.read(model_repository.models_dir / "digits-cnn" / "1")
    assert ood.pooled_layer(cnn) == "pool2"  # 7x7x64: its mean is 64 numbers an image
    assert cnn.layer("pool2").output_shape[-1] == 64
    assert ood.pooled_layer(Manifest.read(model_repository.models_dir / "digits" / "1")) is None


def test_a_cnns_calibration_weighs_the_pooled_space(model_repository: ModelRepository) -> None:
    """Beside the embedding and dense1, kNN in pool2 averaged over positions is measured on
    the validation split against proxies (the rule then picks); an MLP has no such space."""
    for name, spaces in (("digits-cnn", {"embedding", "dense1", "pool2 (mean)"}),
                         ("digits", {"embedding"})):  # fmt: skip
        version_dir = model_repository.models_dir / name / "1"
        detail = json.loads((version_dir / OOD_DIR / OOD_CALIBRATION_FILE).read_text())
        assert set(detail["knn_layer_aurocs"]) == spaces, name
        assert detail["spaces_version"] == ood.SPACES_VERSION
        assert ood.is_current(version_dir, Manifest.read(version_dir))


def test_a_pooled_choice_records_its_checked_vectors(
    model_repository: ModelRepository, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    version_dir, manifest, data = pooled_calibration(model_repository, tmp_path, monkeypatch)
    record = manifest.ood
    assert record is not None
    assert (record.knn_layer, record.knn_pooling) == ("pool2", "mean")
    assert set(record.knn_files) == {"mnist-train", "mnist-test"}
    for ref, sha in record.knn_files.items():
        path = version_dir / OOD_DIR / ood_knn_file(ref)
        assert _sha(path) == sha
        rows = EVALUATED if ref == "mnist-train" else len(data.test.x)
        assert np.load(path).shape == (rows, 64)
    scorer = ood.Scorer.open(version_dir, manifest)
    assert (scorer.knn_layer, scorer.knn_pooling) == ("pool2", "mean")
    # The search is Sun et al.'s kNN over the averaged map, computed by hand here.
    x = data.test.x[:20].astype(np.float32)
    saved = scorer.loaded
    maps = neighbors.layer_vectors(saved, manifest, "pool2", x).reshape(20, 49, 64)
    train = np.load(version_dir / OOD_DIR / ood_knn_file("mnist-train"))
    queries = maps.mean(axis=1)
    q = queries / np.linalg.norm(queries, axis=1, keepdims=True)
    t = train / np.linalg.norm(train, axis=1, keepdims=True)
    distances = np.sort(np.linalg.norm(q[:, None, :] - t[None, :, :], axis=2), axis=1)
    np.testing.assert_allclose(scorer.knn(x), distances[:, scores.KNN_K - 1], atol=1e-4)
    # The test split's file holds those same vectors (the map's points read them).
    test_file = np.load(version_dir / OOD_DIR / ood_knn_file("mnist-test"))
    np.testing.assert_allclose(test_file[:20], queries, rtol=1e-5, atol=1e-6)
    # The threshold keeps 95% of the (augmented) validation split in that space.
    calibrated = record.methods["knn"].threshold
    validation = augmented(
        data.validation.x[:EVALUATED], get_spec("digits-cnn").fit.augment, seed=ood.AUGMENT_SEED
    )
    assert (scorer.knn(validation) > calibrated).mean() == pytest.approx(0.05, abs=0.002)


def test_an_older_calibration_is_made_again_without_retraining(
    model_repository: ModelRepository, tmp_path: Path, engine: Engine
) -> None:
    """A version calibrated before the trainer weighed pooled spaces (no spaces_version in
    its detail) is calibrated again by the next run, its weights untouched."""
    models_dir = copy_versions(
        model_repository.models_dir, tmp_path / "models", {"digits-cnn": [1]}
    )
    version_dir = models_dir / "digits-cnn" / "1"
    path = version_dir / OOD_DIR / OOD_CALIBRATION_FILE
    detail = json.loads(path.read_text())
    del detail["spaces_version"]
    path.write_text(json.dumps(detail))
    manifest = Manifest.read(version_dir)
    assert manifest.ood is not None
    manifest.model_copy(
        update={"ood": manifest.ood.model_copy(update={"sha256": _sha(path)})}
    ).write(version_dir)
    assert not ood.is_current(version_dir, Manifest.read(version_dir))
    weights = _sha(version_dir / SAVED_MODEL_DIR / "saved_model.pb")
    outcome = pipeline.run_model(
        get_spec("digits-cnn"),
        models_dir=models_dir,
        engine=engine,
        cache=pipeline.DataCache(model_repository.data_dir, seed=0),
        profile=QUICK,
        seed=0,
    )
    assert outcome.status == "skipped"
    assert _sha(version_dir / SAVED_MODEL_DIR / "saved_model.pb") == weights
    again = Manifest.read(version_dir)
    assert ood.is_current(version_dir, again)
    assert json.loads(path.read_text())["spaces_version"] == ood.SPACES_VERSION
