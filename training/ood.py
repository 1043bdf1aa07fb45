"""Out-of-distribution calibration and evaluation of one exported version.

Calibration (``calibrate``) reads the validation split only. A model trained on augmented
images (the digits models' handwriting augmentation) is calibrated on the validation split
as it was trained to see it: one seeded augmented copy (``training.augment.augmented``), so
thick, slanted, blurred digits a person draws are not flagged for being unlike MNIST's own
pixels. Each method's threshold keeps ``KEEP`` of that split ``in``. The default method is
``knn`` (Sun et al.'s nearest neighbours, the strongest of the four in the literature and
in our measurements) unless another method beats it by more than ``CLEAR`` at telling the
calibration split from held-out *proxies* made from it: synthetic far-out inputs (noise,
blank, inverted: ``core.ood.synthetic``) and near-distribution transformations (heavy
blur, shuffled patches). On the same proxies ``knn`` picks its space among the layers the
recipe indexes (``digits-cnn``: the embedding and ``dense1``) and, for a convolutional
network, its last feature map averaged over positions (``pooled_layer``: the space Sun et
al. search in a ResNet, which pools there where our CNNs flatten; its train vectors are
written to ``ood/``); the embedding unless another space is better by more than ``TIE``.
Neither a test split nor any dataset the verdict is later scored against is read, so the
numbers ``reports`` stores are honest held-out measurements.

The evaluation (``reports``, stored as the ``ood`` kind, one row per out-of-distribution
set) gives per method the AUROC and the FPR at 95% TPR, in the convention of Liu et al.
(2020): the share of out-of-distribution inputs still called ``in`` at the score that
keeps 95% of the in-distribution test split ``in``. Its ROC curve is stored as the share of
out-of-distribution inputs flagged (y) against the share of in-distribution inputs flagged
(x), with both histograms, for the page's Metrics view.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import tensorflow as tf
from sklearn.metrics import roc_auc_score

from core import datasets
from core.datasets.robustness import ROBUSTNESS_TASK
from core.manifest import (
    LOGITS_LAYER,
    OOD_CALIBRATION_FILE,
    OOD_DIR,
    OOD_MAHALANOBIS_FILE,
    SAVED_MODEL_DIR,
    Manifest,
    OodMethodRecord,
    OodRecord,
    neighbor_index_paths,
    ood_knn_file,
)
from core.ood import scores
from core.ood.synthetic import proxies, synthetic
from training import evaluate, neighbors
from training.artefacts import npy_bytes, write_atomically
from training.augment import Augment, augmented

#: Share of the validation split a threshold keeps ``in``.
KEEP = 0.95
#: The TPR of the reported FPR (in-distribution inputs kept ``in``).
TPR = 0.95
HISTOGRAM_BINS = 30
#: Points of a stored ROC curve (the x axis sampled evenly).
ROC_POINTS = 51
#: Synthetic inputs per kind: for choosing the default, and for the evaluation.
CHOICE_PER_KIND = 250
EVAL_PER_KIND = 500
#: Different seeds, so the evaluation's noise is not the noise the default was chosen on.
CHOICE_SEED, EVAL_SEED = 101, 202
#: Seed of the augmented copy of the validation split a threshold is calibrated on.
AUGMENT_SEED = 303
#: How much higher another method's AUROC (calibration split vs proxies) must be for it to
#: replace ``knn`` as the default: a clear win, not noise in 2,500 proxy inputs.
CLEAR = 0.02
#: kNN AUROCs of two layers this close count as a tie, which the embedding wins.
TIE = 1e-3
PREFERRED = "knn"
#: What a calibration weighs; a version calibrated by an older trainer is calibrated again
#: (no retraining). 2: a convolutional network's last feature map, averaged over positions.
SPACES_VERSION = 2
#: Rows per run of a feature map's layer while pooling (a 7x7x64 map is 12.5 kB a row).
POOL_BATCH = 2048
#: The robustness sets scored for the share flagged (digits models).
FLAG_ONLY = ("canvas", "writers")
RULE = (
    f"{PREFERRED} unless another method's AUROC of the calibration split against proxies made "
    "from it (uniform and Gaussian noise, blank, inverted, heavily blurred, patch-shuffled) "
    f"is higher by more than {CLEAR}; then the highest"
)


@dataclass
class Scorer:
    """Every method's scores for inputs of one version: its SavedModel, the train split's
    neighbour index in the ``knn`` layer's space and the Mahalanobis parameters."""

    manifest: Manifest
    loaded: Any
    train: np.ndarray
    train_norms: np.ndarray
    params: np.ndarray
    k: int
    #: The layer ``knn`` searches in (the manifest's embedding layer by default).
    knn_layer: str
    #: "mean": ``knn``'s space is ``knn_layer``'s feature map averaged over its positions.
    knn_pooling: str | None = None

    @classmethod
    def open(
        cls,
        version_dir: Path,
        manifest: Manifest,
        params: np.ndarray | None = None,
        *,
        knn_layer: str | None = None,
    ) -> Scorer:
        """``knn_layer`` None: the calibration's choice (its layer and pooling), else the
        embedding; a layer named here is searched in its own neighbour index."""
        record = manifest.ood
        pooling = None
        if knn_layer is None and record is not None and record.knn_layer:
            knn_layer, pooling = record.knn_layer, record.knn_pooling
        layer = knn_layer or manifest.embedding_layer
        if pooling is not None and record is not None:
            vectors_path = version_dir / OOD_DIR / ood_knn_file(record.train_index)
        else:
            vectors_path, _labels = neighbor_index_paths(version_dir, train_ref(manifest), layer)
        train = np.load(vectors_path, mmap_mode="r")
        if params is None:
            params = np.load(version_dir / OOD_DIR / OOD_MAHALANOBIS_FILE)
        return cls(
            manifest=manifest,
            loaded=tf.saved_model.load(str(version_dir / SAVED_MODEL_DIR)),
            train=train,
            train_norms=np.einsum("ij,ij->i", train, train),
            params=params,
            k=min(scores.KNN_K, len(train)),
            knn_layer=layer,
            knn_pooling=pooling,
        )

    def pooled(self, layer: str, train: np.ndarray) -> Scorer:
        """This scorer with ``knn`` in ``layer``'s position-averaged space, searching
        ``train`` (that space's vectors of the train split)."""
        return replace(
            self,
            train=train,
            train_norms=np.einsum("ij,ij->i", train, train),
            k=min(scores.KNN_K, len(train)),
            knn_layer=layer,
            knn_pooling="mean",
        )

    def knn_vectors(self, x: np.ndarray) -> np.ndarray:
        """``x``'s vectors in ``knn``'s space."""
        if self.knn_pooling is None:
            return neighbors.layer_vectors(self.loaded, self.manifest, self.knn_layer, x)
        return pooled_vectors(self.loaded, self.manifest, self.knn_layer, x)

    def outputs(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(logits, embedding) of ``x``, as the served model computes them."""
        x = np.asarray(x, dtype=np.float32)
        logits = evaluate.run_endpoint(self.loaded.predict, x)[LOGITS_LAYER]
        embedding = neighbors.layer_vectors(
            self.loaded, self.manifest, self.manifest.embedding_layer, x
        )
        return logits, embedding

    def knn(self, x: np.ndarray, embedding: np.ndarray | None = None) -> np.ndarray:
        """The ``knn`` score of ``x`` in ``knn_layer``'s space (``embedding``: its embedding
        when already computed)."""
        if embedding is None or self.knn_layer != self.manifest.embedding_layer:
            embedding = self.knn_vectors(x)
        return scores.knn(embedding, self.train, self.train_norms, k=self.k)

    def scores(self, x: np.ndarray) -> dict[str, np.ndarray]:
        logits, embedding = self.outputs(x)
        return {
            "knn": self.knn(np.asarray(x, dtype=np.float32), embedding),
            "mahalanobis": scores.mahalanobis(embedding, self.params, self.manifest.num_classes),
            "energy": scores.energy(logits),
            "msp": scores.msp(logits),
        }


def pooled_layer(manifest: Manifest) -> str | None:
    """The last layer with a (height, width, channels) output that the rest of the network
    is a function of (a convolutional network's last feature map), or None."""
    maps = [s.name for s in manifest.layers if len(s.output_shape) == 3 and not s.probe_only]
    return maps[-1] if maps else None


def pooled_key(layer: str) -> str:
    """How a position-averaged space is named in the calibration's detail."""
    return f"{layer} (mean)"


def pooled_vectors(loaded: Any, manifest: Manifest, layer: str, x: np.ndarray) -> np.ndarray:
    """(N, channels) float32: ``layer``'s feature map of ``x`` averaged over positions, run
    ``POOL_BATCH`` rows at a time (a whole split's maps would be gigabytes)."""
    spec = manifest.layer(layer)
    if spec is None:
        raise ValueError(f"{manifest.name} has no layer {layer!r}")
    channels = spec.output_shape[-1]
    parts = [
        scores.spatial_mean(
            neighbors.layer_vectors(loaded, manifest, layer, x[i : i + POOL_BATCH]), channels
        )
        for i in range(0, len(x), POOL_BATCH)
    ]
    return np.concatenate(parts) if parts else np.zeros((0, channels), np.float32)


def is_current(version_dir: Path, manifest: Manifest) -> bool:
    """Whether the version has a calibration that weighed every space this trainer weighs
    (``SPACES_VERSION``)."""
    if manifest.ood is None:
        return False
    path = version_dir / OOD_DIR / OOD_CALIBRATION_FILE
    try:
        detail = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return detail.get("spaces_version", 1) >= SPACES_VERSION


def train_ref(manifest: Manifest) -> str:
    return f"{manifest.dataset.name}-train"


def auroc(inside: np.ndarray, outside: np.ndarray) -> float:
    """Probability that an out-of-distribution input scores above an in-distribution one."""
    labels = np.concatenate([np.zeros(len(inside)), np.ones(len(outside))])
    return float(roc_auc_score(labels, np.concatenate([inside, outside])))


def fpr_at_tpr(inside: np.ndarray, outside: np.ndarray, tpr: float = TPR) -> float:
    """Share of ``outside`` called ``in`` at the score that keeps ``tpr`` of ``inside`` in."""
    cut = np.quantile(inside, tpr)
    return float((outside <= cut).mean())


def roc_curve(inside: np.ndarray, outside: np.ndarray) -> dict[str, list[float]]:
    """Share of ``outside`` flagged at the score that flags each of ``ROC_POINTS`` evenly
    spaced shares of ``inside``."""
    flagged_in = np.linspace(0.0, 1.0, ROC_POINTS)
    cuts = np.quantile(inside, 1.0 - flagged_in)
    flagged_out = [float((outside > c).mean()) for c in cuts]
    flagged_out[-1] = 1.0
    return {"flagged_in": [round(float(v), 4) for v in flagged_in],
            "flagged_out": [round(v, 4) for v in flagged_out]}  # fmt: skip


def histogram(values: np.ndarray, edges: np.ndarray | None = None) -> tuple[list[float], list[int]]:
    counts, edges = np.histogram(values, bins=HISTOGRAM_BINS if edges is None else edges)
    return [float(e) for e in edges], [int(c) for c in counts]


def choose_default(aurocs: Mapping[str, float]) -> str:
    """``PREFERRED`` unless another method's AUROC beats it by more than ``CLEAR``."""
    best = max(scores.METHODS, key=lambda m: aurocs[m])
    return best if aurocs[best] > aurocs[PREFERRED] + CLEAR else PREFERRED


def choose_knn_layer(aurocs: Mapping[str, float], embedding: str) -> str:
    """The layer whose ``knn`` AUROC (calibration split vs proxies) is highest; the
    embedding unless another beats it by more than ``TIE``."""
    best = max(aurocs, key=lambda layer: aurocs[layer])
    return best if aurocs[best] > aurocs[embedding] + TIE else embedding


def _indexed_layers(manifest: Manifest) -> list[str]:
    """The layers besides the embedding whose train split the trainer indexed."""
    ref = train_ref(manifest)
    return [r.layer for r in manifest.neighbor_indexes
            if r.dataset == ref and r.layer != manifest.embedding_layer]  # fmt: skip


def calibrate(
    version_dir: Path,
    manifest: Manifest,
    validation_x: np.ndarray,
    *,
    augment: Augment | None = None,
    train_x: np.ndarray | None = None,
) -> Manifest:
    """Fit the Mahalanobis parameters on the train index, score ``validation_x`` (the
    validation split, nothing else; with ``augment``, its seeded augmented copy) and the
    proxies made from it, write the files, and return the manifest with its ``OodRecord``
    (the caller writes it).

    ``train_x`` (the train split's images) makes the position-averaged space of a
    convolutional network's last feature map a candidate for ``knn``: its vectors in that
    space are what ``knn`` searches there (an index, as the neighbour indexes are; nothing
    is fitted on them). Without it the candidate is left out."""
    vectors_path, labels_path = neighbor_index_paths(version_dir, train_ref(manifest))
    train = np.load(vectors_path, mmap_mode="r")
    params = scores.fit_mahalanobis(train, np.load(labels_path), manifest.num_classes)
    scorer = Scorer.open(version_dir, manifest, params, knn_layer=manifest.embedding_layer)
    if augment is not None and augment.active:
        validation_x = augmented(validation_x, augment, seed=AUGMENT_SEED)
    inside = scorer.scores(validation_x)
    made = synthetic(manifest.input, validation_x, CHOICE_PER_KIND, seed=CHOICE_SEED)
    made |= proxies(manifest.input, validation_x, CHOICE_PER_KIND, seed=CHOICE_SEED)
    far_x = np.concatenate(list(made.values()))
    far = scorer.scores(far_x)
    knn_scores = {scorer.knn_layer: (inside["knn"], far["knn"])}
    scorers = {scorer.knn_layer: scorer}
    for layer in _indexed_layers(manifest):
        scorers[layer] = Scorer.open(version_dir, manifest, params, knn_layer=layer)
        knn_scores[layer] = (scorers[layer].knn(validation_x), scorers[layer].knn(far_x))
    feature_map = pooled_layer(manifest)
    if feature_map is not None and train_x is not None:
        train_vectors = pooled_vectors(
            scorer.loaded, manifest, feature_map, np.asarray(train_x, np.float32)
        )
        key = pooled_key(feature_map)
        scorers[key] = scorer.pooled(feature_map, train_vectors)
        knn_scores[key] = (scorers[key].knn(validation_x), scorers[key].knn(far_x))
    layer_aurocs = {layer: auroc(i, f) for layer, (i, f) in knn_scores.items()}
    chosen = choose_knn_layer(layer_aurocs, scorer.knn_layer)
    inside["knn"], far["knn"] = knn_scores[chosen]
    chosen_scorer = scorers[chosen]
    knn_files: dict[str, str] = {}
    knn_bytes = 0
    if chosen_scorer.knn_pooling is not None:
        ref = train_ref(manifest)
        data = npy_bytes(np.asarray(chosen_scorer.train, dtype=np.float32))
        knn_files[ref] = write_atomically(version_dir / OOD_DIR / ood_knn_file(ref), data)
        knn_bytes = len(data)
    aurocs = {m: auroc(inside[m], far[m]) for m in scores.METHODS}
    default = choose_default(aurocs)
    methods = {}
    for method in scores.METHODS:
        edges, counts = histogram(inside[method])
        methods[method] = OodMethodRecord(
            threshold=scores.threshold(inside[method], KEEP),
            edges=tuple(edges),
            counts=tuple(counts),
        )
    detail = {
        "keep": KEEP,
        "k": scorer.k,
        "validation_rows": len(validation_x),
        "default_method": default,
        "rule": RULE,
        "augmented": None if augment is None else augment.describe(),
        "augment_seed": None if augment is None else AUGMENT_SEED,
        "validation_vs_proxies_auroc": aurocs,
        "knn_layer": chosen,
        "knn_layer_aurocs": layer_aurocs,
        "knn_pooling": chosen_scorer.knn_pooling,
        "spaces_version": SPACES_VERSION,
        "proxy_kinds": list(made),
        "proxies_per_kind": CHOICE_PER_KIND,
        "proxy_seed": CHOICE_SEED,
        "thresholds": {m: r.threshold for m, r in methods.items()},
    }
    detail_bytes = (json.dumps(detail, indent=2) + "\n").encode()
    params_bytes = npy_bytes(params)
    folder = version_dir / OOD_DIR
    record = OodRecord(
        methods=methods,
        default_method=default,
        keep=KEEP,
        k=scorer.k,
        train_index=train_ref(manifest),
        knn_layer=None if chosen == manifest.embedding_layer else chosen_scorer.knn_layer,
        knn_pooling=chosen_scorer.knn_pooling,
        knn_files=knn_files,
        validation=f"{manifest.dataset.name}-validation"
        + ("" if augment is None or not augment.active else "-augmented"),
        validation_rows=len(validation_x),
        sha256=write_atomically(folder / OOD_CALIBRATION_FILE, detail_bytes),
        mahalanobis_sha256=write_atomically(folder / OOD_MAHALANOBIS_FILE, params_bytes),
        size_bytes=len(detail_bytes) + len(params_bytes) + knn_bytes,
    )
    return manifest.model_copy(update={"ood": record})


def add_space_vectors(
    version_dir: Path, manifest: Manifest, splits: Mapping[str, np.ndarray]
) -> Manifest:
    """Where ``knn`` searches a pooled space: write ``splits``' vectors in it (reference ->
    images; the test split's place the map's points, as its neighbour index does for the
    layers) and return the manifest recording them (the caller writes it). Unchanged
    otherwise. Separate from ``calibrate``, which never reads a test split."""
    record = manifest.ood
    if record is None or record.knn_pooling is None or record.knn_layer is None:
        return manifest
    scorer = Scorer.open(version_dir, manifest)
    files = dict(record.knn_files)
    size = record.size_bytes
    for ref, x in splits.items():
        if ref in files:
            continue
        data = npy_bytes(scorer.knn_vectors(np.asarray(x, np.float32)))
        files[ref] = write_atomically(version_dir / OOD_DIR / ood_knn_file(ref), data)
        size += len(data)
    update = {"knn_files": files, "size_bytes": size}
    return manifest.model_copy(update={"ood": record.model_copy(update=update)})


def separation(
    inside: Mapping[str, np.ndarray], outside: Mapping[str, np.ndarray], record: OodRecord
) -> dict[str, Any]:
    """Per method: AUROC, FPR at 95% TPR, the shares flagged by the calibrated threshold,
    the ROC curve and both histograms on shared edges."""
    methods = {}
    for method in scores.METHODS:
        i, o = inside[method], outside[method]
        threshold = record.methods[method].threshold
        edges, counts_in = histogram(np.concatenate([i, o]))
        _, counts_out = histogram(o, np.asarray(edges))
        _, counts_in = histogram(i, np.asarray(edges))
        methods[method] = {
            "auroc": auroc(i, o),
            "fpr_at_95_tpr": fpr_at_tpr(i, o),
            "threshold": threshold,
            "flagged_in": float((i > threshold).mean()),
            "flagged_out": float((o > threshold).mean()),
            "roc": roc_curve(i, o),
            "histogram": {"edges": edges, "in": counts_in, "out": counts_out},
        }
    return methods


def reports(
    version_dir: Path,
    manifest: Manifest,
    inside: tuple[str, np.ndarray],
    outside: Mapping[str, np.ndarray],
    flag_only: Mapping[str, np.ndarray] = {},
) -> dict[str, dict[str, Any]]:
    """Dataset reference -> the ``ood`` evaluation's row. ``inside`` is the in-distribution
    test split (reference, x); each of ``outside`` is an out-of-distribution set, and
    ``synthetic`` (made from the test split) is added; each of ``flag_only`` is a set a
    person would call in-distribution (canvas-drawn digits): only the share flagged."""
    record = manifest.ood
    if record is None:
        raise ValueError(f"{manifest.name} v{manifest.version} has no ood calibration")
    scorer = Scorer.open(version_dir, manifest)
    in_ref, in_x = inside
    in_scores = scorer.scores(in_x)
    common = {"in_dataset": in_ref, "num_in": len(in_x), "keep": record.keep, "k": record.k,
              "default_method": record.default_method}  # fmt: skip
    out: dict[str, dict[str, Any]] = {}
    for ref, x in outside.items():
        out[ref] = {**common, "num_out": len(x),
                    "methods": separation(in_scores, scorer.scores(x), record)}  # fmt: skip
    made = synthetic(manifest.input, in_x, EVAL_PER_KIND, seed=EVAL_SEED)
    kinds = {kind: scorer.scores(x) for kind, x in made.items()}
    together = {m: np.concatenate([kinds[k][m] for k in made]) for m in scores.METHODS}
    out["synthetic"] = {
        **common,
        "num_out": sum(len(x) for x in made.values()),
        "methods": separation(in_scores, together, record),
        "kinds": {
            kind: {m: auroc(in_scores[m], s[m]) for m in scores.METHODS}
            for kind, s in kinds.items()
        },
    }
    for ref, x in flag_only.items():
        flagged = scorer.scores(x)
        out[ref] = {
            **common,
            "num_out": len(x),
            "flag_only": True,
            "methods": {
                m: {
                    "threshold": record.methods[m].threshold,
                    "flagged_out": float((flagged[m] > record.methods[m].threshold).mean()),
                }
                for m in scores.METHODS
            },
        }
    return out


def flag_only_sets(task: str, data_dir: Path, limit: int | None) -> dict[str, np.ndarray]:
    """Sets a person would call in-distribution however unlike the training pixels they
    are, whose share flagged is stored: for the digits task the held-out robustness sets
    (``core.datasets.robustness``: digits drawn on the page's canvas, other writers)."""
    if task != ROBUSTNESS_TASK:
        return {}
    return {name: datasets.load_robustness(name, data_dir)[0][:limit] for name in FLAG_ONLY}
