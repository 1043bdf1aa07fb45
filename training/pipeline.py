"""Train one recipe end to end: data -> fit -> export -> evaluate -> store.

Idempotent: a model whose latest version is exported and evaluated is skipped unless
forced; a version that was exported but never evaluated (a crash in between) is
evaluated, not retrained. A forced retrain writes a new version. The evaluations and the
per-example test predictions are written in one transaction.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

import keras
import numpy as np
import tensorflow as tf
from sqlalchemy import Engine

from core import datasets
from core.datasets.loading import DEFAULT_SEED
from core.db import KIND_AGREEMENT, KIND_MAP, KIND_OOD, begin_write, has_predictions, store
from core.manifest import LOGITS_LAYER, SAVED_MODEL_DIR, Manifest, list_versions, version_dir
from core.settings import TrainProfile
from training import agreement, evaluate, maps, neighbors, ood, robustness, tails
from training.augment import with_augmentation
from training.export import export_network
from training.networks import to_model
from training.predictions import SplitPredictions, add_missing, is_served_split
from training.recipes import Fit, ModelSpec, SweepPoint, WidthSweep

HISTORY_FILE = "history.json"

Status = Literal["trained", "evaluated", "skipped"]


@dataclass(frozen=True)
class Profile:
    """How much of the full recipe to run. 'quick' is for tests and smoke runs."""

    name: str
    max_train_examples: int | None = None
    max_epochs: int | None = None
    #: Caps the train/validation splits when evaluating; test splits are always whole.
    max_eval_examples: int | None = None
    #: Caps the test examples on each t-SNE/UMAP map (``ModelSpec.map_points``): a few
    #: hundred keep the tests' tiny models quick.
    max_map_points: int | None = None

    def map_points(self, spec: ModelSpec) -> int:
        cap = self.max_map_points
        return spec.map_points if cap is None else min(spec.map_points, cap)

    def epochs(self, recipe: Fit, override: int | None) -> int:
        epochs = override or recipe.epochs
        return min(epochs, self.max_epochs) if self.max_epochs else epochs


#: One per name Settings.train_profile accepts.
PROFILES: dict[TrainProfile, Profile] = {
    "full": Profile("full"),
    "quick": Profile(
        "quick", max_train_examples=3000, max_epochs=2, max_eval_examples=2000, max_map_points=300
    ),
}


@dataclass
class Outcome:
    spec: ModelSpec
    version: int
    status: Status
    seconds: float
    test_accuracy: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)


class DataCache:
    """Loads each dataset once per run: several models share MNIST and Fashion-MNIST."""

    def __init__(self, data_dir: Path, seed: int) -> None:
        self.data_dir = data_dir
        self.seed = seed
        self._sets: dict[str, datasets.Dataset] = {}

    def get(self, name: str) -> datasets.Dataset:
        if name not in self._sets:
            self._sets[name] = datasets.load_dataset(name, self.data_dir, seed=self.seed)
        return self._sets[name]


def labels_for(spec: ModelSpec) -> Callable[[np.ndarray], np.ndarray]:
    """How the dataset's labels become the task's (coarse tasks fold them)."""
    return datasets.coarse_fashion_labels if spec.task.coarse else (lambda y: y)


def _optimizer(recipe: Fit, epochs: int, steps_per_epoch: int) -> keras.optimizers.Optimizer:
    rate: float | keras.optimizers.schedules.LearningRateSchedule = recipe.learning_rate
    if recipe.cosine_decay:
        rate = keras.optimizers.schedules.CosineDecay(
            recipe.learning_rate, decay_steps=epochs * steps_per_epoch, alpha=0.05
        )
    return keras.optimizers.Adam(rate)


def fit(
    recipe: Fit,
    network_model: keras.Model,
    train: datasets.Split,
    validation: datasets.Split | None,
    *,
    epochs: int,
    callbacks: Sequence[keras.callbacks.Callback] = (),
) -> dict[str, list[float]]:
    """Fit on logits with a from-logits loss (stable), as the reports did."""
    logits = keras.Model(network_model.input, network_model.get_layer(LOGITS_LAYER).output)
    trainer = with_augmentation(logits, recipe.augment)
    steps = -(-len(train.x) // recipe.batch_size)
    trainer.compile(
        optimizer=_optimizer(recipe, epochs, steps),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    history = trainer.fit(
        train.x.astype(np.float32),
        train.y,
        validation_data=None
        if validation is None
        else (validation.x.astype(np.float32), validation.y),
        epochs=epochs,
        batch_size=recipe.batch_size,
        shuffle=True,
        verbose=0,
        callbacks=list(callbacks),
    )
    return {k: [float(v) for v in values] for k, values in history.history.items()}


def _relabelled(split: datasets.Split, relabel: Callable, limit: int | None) -> datasets.Split:
    x, y = split.x, relabel(split.y)
    if limit:
        x, y = x[:limit], y[:limit]
    return datasets.Split(x=x, y=np.asarray(y, dtype=np.int64))


def train_and_export(
    spec: ModelSpec,
    data: datasets.Dataset,
    *,
    models_dir: Path,
    profile: Profile,
    seed: int,
    epochs: int | None = None,
    callbacks: Sequence[keras.callbacks.Callback] = (),
) -> Manifest:
    keras.utils.set_random_seed(seed)
    relabel = labels_for(spec)
    train = _relabelled(data.train, relabel, profile.max_train_examples)
    validation = _relabelled(data.validation, relabel, None)
    n_epochs = profile.epochs(spec.fit, epochs)
    network = spec.network()
    model = to_model(network, spec.name)
    started = time.perf_counter()
    history = fit(spec.fit, model, train, validation, epochs=n_epochs, callbacks=callbacks)
    seconds = time.perf_counter() - started
    manifest = export_network(
        spec,
        network,
        models_dir=models_dir,
        training={
            "epochs": n_epochs,
            "batch_size": spec.fit.batch_size,
            "optimizer": "adam",
            "learning_rate": spec.fit.learning_rate,
            "loss": "sparse categorical cross-entropy (from logits)",
            "seed": seed,
            "seconds": round(seconds, 2),
            "params": model.count_params(),
            "extra": {
                "profile": profile.name,
                "train_examples": len(train.x),
                "cosine_decay": spec.fit.cosine_decay,
                "augment": None if spec.fit.augment is None else spec.fit.augment.describe(),
            },
        },
        dataset=data.record(),
        extra_files={HISTORY_FILE: json.dumps(evaluate.history_report(history))},
    )
    return manifest


def evaluations_for(
    spec: ModelSpec, manifest: Manifest, path: Path, cache: DataCache, profile: Profile
) -> tuple[list[store.EvaluationItem], SplitPredictions | None]:
    """Every stored evaluation of one model version, computed from its SavedModel, and the
    per-example predictions behind the test evaluation (None when the run's test split is
    not the one the service numbers: ``training.predictions.is_served_split``)."""
    data = cache.get(spec.dataset)
    relabel = labels_for(spec)
    loaded = tf.saved_model.load(str(path / SAVED_MODEL_DIR))
    items: list[store.EvaluationItem] = []
    predictions = None
    for split_name in ("train", "validation", "test"):
        limit = None if split_name == "test" else profile.max_eval_examples
        split = _relabelled(getattr(data, split_name), relabel, limit)
        outputs = evaluate.run_endpoint(loaded.predict, split.x.astype(np.float32))
        ref = f"{spec.dataset}-{split_name}"
        if split_name == "test":
            report = evaluate.test_report(outputs, split.y, manifest.num_classes)
            if is_served_split(spec.dataset, data.test, cache.seed, cache.data_dir):
                predictions = SplitPredictions.from_outputs(ref, outputs, split.y)
        else:
            report = evaluate.accuracy_and_loss(outputs, split.y)
        items.append(store.EvaluationItem(kind=split_name, dataset=ref, data=report))
    history = json.loads((path / HISTORY_FILE).read_text(encoding="utf-8"))
    items.append(
        store.EvaluationItem(kind="history", dataset=f"{spec.dataset}-train", data=history)
    )
    if spec.cross_dataset:
        other = cache.get(spec.cross_dataset).test
        outputs = evaluate.run_endpoint(loaded.predict, other.x.astype(np.float32))
        items.append(
            store.EvaluationItem(
                kind="cross-dataset",
                dataset=f"{spec.cross_dataset}-test",
                data=evaluate.cross_dataset_report(outputs, other.y, manifest.num_classes),
            )
        )
    if sweep := spec.width_sweep:
        seed = manifest.training.seed
        results = width_sweep(spec, sweep, data, seed=seed, profile=profile)
        items.append(
            store.EvaluationItem(kind="sweep", dataset=f"{spec.dataset}-test", data=results)
        )
    return items, predictions


def width_sweep(
    spec: ModelSpec, sweep: WidthSweep, data: datasets.Dataset, *, seed: int, profile: Profile
) -> dict[str, Any]:
    """``sweep.network`` trained at each of the sweep's hidden widths on the spec's task:
    the test accuracy of each (SEEDS.md question 11: the fewest hidden units that work)."""
    recipe = replace(spec.fit, epochs=sweep.epochs, learning_rate=sweep.learning_rate)
    relabel = labels_for(spec)
    train, test = _relabelled(data.train, relabel, None), _relabelled(data.test, relabel, None)
    points = []
    for width in sweep.widths:
        keras.utils.set_random_seed(seed)
        network = sweep.network(spec.task.input, len(spec.task.class_names), hidden=width)
        model = to_model(network, f"{spec.name}-h{width}")
        fit(recipe, model, train, None, epochs=profile.epochs(recipe, None))
        probabilities = model.predict(test.x.astype(np.float32), verbose=0)
        accuracy = float((probabilities.argmax(axis=1) == test.y).mean())
        points.append({"value": width, "test_accuracy": accuracy, "params": model.count_params()})
    return {"parameter": "hidden_width", "points": points}


def is_done(spec: ModelSpec, *, models_dir: Path, engine: Engine) -> bool:
    """Whether ``run_model`` would skip the model: its latest version is exported and its
    test evaluation stored."""
    existing = list_versions(models_dir, spec.name)
    return bool(existing) and store.has_evaluation(engine, spec.name, existing[-1], "test")


def run_model(
    spec: ModelSpec,
    *,
    models_dir: Path,
    engine: Engine,
    cache: DataCache,
    profile: Profile,
    seed: int,
    force: bool = False,
    epochs: int | None = None,
    callbacks: Sequence[keras.callbacks.Callback] = (),
    fit_maps: bool = True,
) -> Outcome:
    """Train, export and evaluate ``spec`` unless done; then add what a version gains after
    export (``_ensure_derived``) and, with ``fit_maps``, its 2-D maps (``_ensure_maps``:
    ``make run`` leaves them to its background trainer so the service answers sooner)."""
    started = time.perf_counter()
    existing = list_versions(models_dir, spec.name)
    if existing and not force:
        version = existing[-1]
        if store.has_evaluation(engine, spec.name, version, "test"):
            path = version_dir(models_dir, spec.name, version)
            _ensure_derived(_Exported(spec, path, version, cache, engine, profile), fit_maps)
            return Outcome(spec, version, "skipped", 0.0, _stored_accuracy(engine, spec, version))
        manifest = Manifest.read(version_dir(models_dir, spec.name, version))
        status: Status = "evaluated"
    else:
        manifest = train_and_export(
            spec,
            cache.get(spec.dataset),
            models_dir=models_dir,
            profile=profile,
            seed=seed,
            epochs=epochs,
            callbacks=callbacks,
        )
        status = "trained"
    path = version_dir(models_dir, spec.name, manifest.version)
    items, predictions = evaluations_for(spec, manifest, path, cache, profile)
    store.save_model_version(engine, manifest)
    with begin_write(engine) as connection:
        store.write_evaluations(connection, spec.name, manifest.version, items)
        if predictions is not None:
            predictions.write(connection, spec.name, manifest.version)
    _ensure_derived(_Exported(spec, path, manifest.version, cache, engine, profile), fit_maps)
    accuracy = next(i.data["accuracy"] for i in items if i.kind == "test")
    return Outcome(spec, manifest.version, status, time.perf_counter() - started, accuracy)


@dataclass(frozen=True)
class _Exported:
    """An exported version (``spec``'s, in ``path``) and what adding its derived files and
    evaluations reads (``cache``, capped by ``profile``) and writes to (``engine``)."""

    spec: ModelSpec
    path: Path
    version: int
    cache: DataCache
    engine: Engine
    profile: Profile


def _ensure_derived(exported: _Exported, fit_maps: bool) -> None:
    """What a version gains after export, added to older versions by the next run without
    retraining: the layer tails (``training.tails``), the per-example test predictions
    (``training.predictions``), the robustness evaluation of digits models
    (``training.robustness``), nearest-neighbour indexes (``training.neighbors``: the
    embedding's and the recipe's ``neighbor_layers``'), then,
    for image models, the neighbour-agreement evaluation (``training.agreement``; over the
    first ``profile.max_eval_examples`` test images when the profile caps evaluation), then
    the out-of-distribution calibration and evaluation (``training.ood``), which search the
    train split's index; with ``fit_maps``, last, the 2-D maps."""
    _ensure_indexed(exported)
    _ensure_ood(exported)
    if fit_maps:
        _ensure_maps(exported)


def _ensure_ood(exported: _Exported) -> None:
    """Calibrate on the validation split (of the split the model was trained with; augmented
    as in training when the recipe augments), then
    store the ``ood`` evaluation: the test split against the cross dataset's test split,
    synthetic inputs, and the task's flag-only sets (``training.ood.flag_only_sets``)."""
    spec, path, version, cache = exported.spec, exported.path, exported.version, exported.cache
    engine = exported.engine
    manifest = Manifest.read(path)
    current = ood.is_current(path, manifest)
    if current and store.has_evaluation(engine, spec.name, version, KIND_OOD):
        return
    data = cache.get(spec.dataset)
    n = exported.profile.max_eval_examples
    if not current:  # none yet, or one made before the trainer weighed today's spaces
        manifest = ood.calibrate(
            path,
            manifest,
            data.validation.x[:n],
            augment=spec.fit.augment,
            train_x=data.train.x[:n],
        )
        # Whole, as the neighbour indexes are: the map's points are rows of the test split.
        manifest = ood.add_space_vectors(path, manifest, {f"{spec.dataset}-test": data.test.x})
        manifest.write(path)
    outside = {}
    if spec.cross_dataset:
        outside[f"{spec.cross_dataset}-test"] = cache.get(spec.cross_dataset).test.x[:n]
    rows = ood.reports(
        path,
        manifest,
        (f"{spec.dataset}-test", data.test.x[:n]),
        outside,
        # a quarter of the evaluation cap under a capped profile: each is 2,000 searches
        ood.flag_only_sets(spec.task.name, cache.data_dir, n and n // 4),
    )
    store.save_reports(engine, spec.name, version, KIND_OOD, rows)


def _ensure_indexed(exported: _Exported) -> None:
    """The tails, the test predictions and robustness evaluation, the neighbour indexes and
    the agreement evaluation (see ``_ensure_derived``), each only where missing."""
    spec, path, version, cache = exported.spec, exported.path, exported.version, exported.cache
    engine = exported.engine
    if Manifest.read(path).tails is None:
        tails.add_tails(path, spec)
    robustness.ensure(spec, version, path, cache.data_dir, engine)
    relabel = labels_for(spec)
    test_ref = f"{spec.dataset}-test"
    if not has_predictions(engine, spec.name, version, test_ref):
        served = datasets.load_split(spec.dataset, "test", cache.data_dir)
        served = datasets.Split(served.x, np.asarray(relabel(np.asarray(served.y))))
        add_missing(spec.name, version, path, served, test_ref, engine)
    manifest = Manifest.read(path)
    needs_agreement = manifest.input.kind == "image" and not store.has_evaluation(
        engine, spec.name, version, KIND_AGREEMENT
    )
    if neighbors.has_indexes(manifest, spec.indexed_layers) and not needs_agreement:
        return
    # Indexes are numbered as the service's dataset references are: the default split.
    if cache.seed == DEFAULT_SEED:
        data = cache.get(spec.dataset)
    else:
        data = datasets.load_dataset(spec.dataset, cache.data_dir)
    manifest = neighbors.add_indexes(path, data, relabel=relabel, layers=spec.indexed_layers)
    if not needs_agreement:
        return
    n = exported.profile.max_eval_examples
    tests: dict[str, tuple[np.ndarray, np.ndarray | None]] = {
        f"{spec.dataset}-test": (data.test.x[:n], relabel(np.asarray(data.test.y[:n])))
    }
    if spec.cross_dataset:
        tests[f"{spec.cross_dataset}-test"] = (cache.get(spec.cross_dataset).test.x[:n], None)
    reports = agreement.agreement_reports(manifest, path, tests)
    store.save_reports(engine, spec.name, version, KIND_AGREEMENT, reports)


def _ensure_maps(exported: _Exported) -> None:
    """The recipe's 2-D maps of the test split (``training.maps``, over the indexes
    ``_ensure_indexed`` made) and their ``map`` evaluation, added to older versions too."""
    spec, path, version, engine = exported.spec, exported.path, exported.version, exported.engine
    manifest, report = maps.add_recipe_maps(path, spec, exported.profile.map_points(spec))
    if report is None and not store.has_evaluation(engine, spec.name, version, KIND_MAP):
        report = maps.cluster_report(path, manifest) if manifest.maps else None
    if report is not None:
        store.save_model_version(engine, manifest)
        item = store.EvaluationItem(kind=KIND_MAP, dataset=str(report["dataset"]), data=report)
        store.save_evaluations(engine, spec.name, version, [item])


def _stored_accuracy(engine: Engine, spec: ModelSpec, version: int) -> float | None:
    rows = store.get_evaluations(engine, spec.name, version, kind="test")
    return rows[0].data["accuracy"] if rows else None


def store_sweeps(engine: Engine, outcomes: Sequence[Outcome]) -> None:
    """The hidden-width sweep table, stored on the model the sweep belongs to."""
    by_target: dict[str, list[tuple[SweepPoint, Outcome]]] = {}
    for outcome in outcomes:
        if point := outcome.spec.part_of_sweep:
            by_target.setdefault(point.stored_on, []).append((point, outcome))
    for target, members in by_target.items():
        target_outcome = next((o for o in outcomes if o.spec.name == target), None)
        if target_outcome is None:
            continue
        members.sort(key=lambda member: member[0].value)
        points = [
            {
                "model": o.spec.name,
                "version": o.version,
                "value": point.value,
                "test_accuracy": o.test_accuracy,
                "reference": o.spec.reference,
            }
            for point, o in members
        ]
        data = {"parameter": members[0][0].parameter, "points": points}
        item = store.EvaluationItem(
            kind="sweep", dataset=f"{target_outcome.spec.dataset}-test", data=data
        )
        store.save_evaluations(engine, target, target_outcome.version, [item])
