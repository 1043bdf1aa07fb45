"""Train one recipe end to end: data -> fit -> export -> evaluate -> store.

Idempotent: a model whose latest version is exported and evaluated is skipped unless
forced; a version that was exported but never evaluated (a crash in between) is
evaluated, not retrained. A forced retrain writes a new version.
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
from core.db import store
from core.manifest import SAVED_MODEL_DIR, InputSpec, Manifest, list_versions, version_dir
from core.settings import TrainProfile
from training import evaluate
from training.export import export_network
from training.networks import to_model, xor_mlp
from training.recipes import XOR_SWEEP_RECIPE, XOR_SWEEP_WIDTHS, ModelSpec, get_spec

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

    def epochs(self, spec: ModelSpec, override: int | None) -> int:
        epochs = override or spec.epochs
        return min(epochs, self.max_epochs) if self.max_epochs else epochs


#: One per name Settings.train_profile accepts.
PROFILES: dict[TrainProfile, Profile] = {
    "full": Profile("full"),
    "quick": Profile("quick", max_train_examples=3000, max_epochs=2, max_eval_examples=2000),
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


def input_spec_for(dataset: str) -> InputSpec:
    if dataset in ("mnist", "fashion-mnist"):
        fit = "mnist-centre" if dataset == "mnist" else "pad-resize"
        return InputSpec(
            kind="image",
            shape=(28, 28),
            value_range=(0.0, 255.0),
            scaling="x / 255",
            image_polarity="light-on-dark",
            image_fit=fit,
        )
    if dataset == "sklearn-digits":
        return InputSpec(
            kind="image",
            shape=(8, 8),
            value_range=(0.0, 16.0),
            scaling="x / 16",
            image_polarity="light-on-dark",
            image_fit="pad-resize",
        )
    if dataset == "xor":
        return InputSpec(kind="vector", shape=(2,), value_range=(-5.0, 5.0), scaling="none")
    raise ValueError(f"no input contract for dataset {dataset!r}")


def labels_for(spec: ModelSpec, data: datasets.Dataset) -> tuple[tuple[str, ...], Callable]:
    if spec.coarse:
        return tuple(datasets.COARSE_FASHION_CLASSES), datasets.coarse_fashion_labels
    return tuple(data.class_names), lambda y: y


def _optimizer(spec: ModelSpec, epochs: int, steps_per_epoch: int) -> keras.optimizers.Optimizer:
    rate: float | keras.optimizers.schedules.LearningRateSchedule = spec.learning_rate
    if spec.cosine_decay:
        rate = keras.optimizers.schedules.CosineDecay(
            spec.learning_rate, decay_steps=epochs * steps_per_epoch, alpha=0.05
        )
    return keras.optimizers.Adam(rate)


def fit(
    spec: ModelSpec,
    network_model: keras.Model,
    train: datasets.Split,
    validation: datasets.Split | None,
    *,
    epochs: int,
    callbacks: Sequence[keras.callbacks.Callback] = (),
) -> dict[str, list[float]]:
    """Fit on logits with a from-logits loss (stable), as the reports did."""
    logits = keras.Model(network_model.input, network_model.get_layer("logits").output)
    trainer = _with_shift_augmentation(logits, spec.shift_augment)
    steps = -(-len(train.x) // spec.batch_size)
    trainer.compile(
        optimizer=_optimizer(spec, epochs, steps),
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
        batch_size=spec.batch_size,
        shuffle=True,
        verbose=0,
        callbacks=list(callbacks),
    )
    return {k: [float(v) for v in values] for k, values in history.history.items()}


def _with_shift_augmentation(model: keras.Model, factor: float) -> keras.Model:
    """Random shifts of the training images in front of ``model`` (inactive at inference)."""
    if not factor:
        return model
    shape = tuple(model.input.shape[1:])
    x = keras.Input(shape)
    h = keras.layers.Reshape((*shape, 1))(x)
    h = keras.layers.RandomTranslation(factor, factor, fill_mode="constant")(h)
    return keras.Model(x, model(keras.layers.Reshape(shape)(h)))


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
    class_names, relabel = labels_for(spec, data)
    train = _relabelled(data.train, relabel, profile.max_train_examples)
    validation = _relabelled(data.validation, relabel, None)
    n_epochs = profile.epochs(spec, epochs)
    network = spec.build(len(class_names))
    model = to_model(network, spec.name)
    started = time.perf_counter()
    history = fit(spec, model, train, validation, epochs=n_epochs, callbacks=callbacks)
    seconds = time.perf_counter() - started
    manifest = export_network(
        network,
        models_dir=models_dir,
        name=spec.name,
        version=None,
        task=spec.task,
        architecture=spec.architecture,
        description=spec.description,
        class_names=class_names,
        input_spec=input_spec_for(spec.dataset),
        training={
            "epochs": n_epochs,
            "batch_size": spec.batch_size,
            "optimizer": "adam",
            "learning_rate": spec.learning_rate,
            "loss": "sparse categorical cross-entropy (from logits)",
            "seed": seed,
            "seconds": round(seconds, 2),
            "params": model.count_params(),
            "extra": {
                "profile": profile.name,
                "train_examples": len(train.x),
                "cosine_decay": spec.cosine_decay,
            },
        },
        dataset=data.record(),
        reference={"test_accuracy": spec.reference} if spec.reference else {},
        extra_files={HISTORY_FILE: json.dumps(evaluate.history_report(history))},
    )
    return manifest


def evaluations_for(
    spec: ModelSpec, manifest: Manifest, path: Path, cache: DataCache, profile: Profile
) -> list[store.EvaluationItem]:
    """Every stored evaluation of one model version, computed from its SavedModel."""
    data = cache.get(spec.dataset)
    _, relabel = labels_for(spec, data)
    loaded = tf.saved_model.load(str(path / SAVED_MODEL_DIR))
    items: list[store.EvaluationItem] = []
    for split_name in ("train", "validation", "test"):
        limit = None if split_name == "test" else profile.max_eval_examples
        split = _relabelled(getattr(data, split_name), relabel, limit)
        outputs = evaluate.run_endpoint(loaded.predict, split.x.astype(np.float32))
        ref = f"{spec.dataset}-{split_name}"
        if split_name == "test":
            report = evaluate.test_report(outputs, split.y, manifest.num_classes)
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
    if spec.name == "xor":
        items.append(
            store.EvaluationItem(
                kind="sweep",
                dataset="xor-test",
                data=xor_width_sweep(data, seed=manifest.training.seed, profile=profile),
            )
        )
    return items


def xor_width_sweep(data: datasets.Dataset, *, seed: int, profile: Profile) -> dict[str, Any]:
    """The fewest hidden units that still solve noisy XOR (SEEDS.md question 11)."""
    recipe = replace(get_spec("xor"), **XOR_SWEEP_RECIPE)
    points = []
    for width in XOR_SWEEP_WIDTHS:
        keras.utils.set_random_seed(seed)
        model = to_model(xor_mlp(2, hidden=width), f"xor-h{width}")
        fit(recipe, model, data.train, None, epochs=profile.epochs(recipe, None))
        probabilities = model.predict(data.test.x.astype(np.float32), verbose=0)
        accuracy = float((probabilities.argmax(axis=1) == data.test.y).mean())
        points.append({"value": width, "test_accuracy": accuracy, "params": model.count_params()})
    return {"parameter": "hidden_width", "points": points}


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
) -> Outcome:
    started = time.perf_counter()
    existing = list_versions(models_dir, spec.name)
    if existing and not force:
        version = existing[-1]
        if store.has_evaluation(engine, spec.name, version, "test"):
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
    items = evaluations_for(spec, manifest, path, cache, profile)
    store.save_model_version(engine, manifest)
    store.save_evaluations(engine, spec.name, manifest.version, items)
    accuracy = next(i.data["accuracy"] for i in items if i.kind == "test")
    return Outcome(spec, manifest.version, status, time.perf_counter() - started, accuracy)


def _stored_accuracy(engine: Engine, spec: ModelSpec, version: int) -> float | None:
    rows = store.get_evaluations(engine, spec.name, version, kind="test")
    return rows[0].data["accuracy"] if rows else None


def store_sweeps(engine: Engine, outcomes: Sequence[Outcome]) -> None:
    """The hidden-width sweep table, stored on the model the sweep belongs to."""
    by_target: dict[str, list[Outcome]] = {}
    for outcome in outcomes:
        if outcome.spec.sweep:
            by_target.setdefault(outcome.spec.sweep[2], []).append(outcome)
    for target, members in by_target.items():
        target_outcome = next((o for o in outcomes if o.spec.name == target), None)
        if target_outcome is None:
            continue
        parameter = members[0].spec.sweep[0]
        points = [
            {
                "model": o.spec.name,
                "version": o.version,
                "value": o.spec.sweep[1],
                "test_accuracy": o.test_accuracy,
                "reference": o.spec.reference,
            }
            for o in sorted(members, key=lambda o: o.spec.sweep[1])
        ]
        store.save_evaluations(
            engine,
            target,
            target_outcome.version,
            [
                store.EvaluationItem(
                    kind="sweep",
                    dataset="mnist-test",
                    data={"parameter": parameter, "points": points},
                )
            ],
        )
