"""The out-of-distribution verdict of one run's outputs: score, threshold, verdict, method.

The verdict reads two of the model's own outputs (the logits and the embedding, which one
``layers`` run gives alongside the probabilities); ``service.features.ood.output`` makes it
the registry's named outputs, so every front door gets it the same way. Scores follow
``core.ood.scores`` (higher = more unusual; ``"out"`` above the threshold the trainer
calibrated on the validation split).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from core.manifest import LOGITS_LAYER
from core.ood import scores
from service.errors import InvalidInput, ModelNotReady, OodNotCalibrated
from service.features.ood.shelf import CorruptCalibration, OodShelf
from service.runtime import LoadedModel
from service.runtime.indexes import CorruptIndex

#: The query/parameter values that ask for a verdict's method.
METHODS = scores.METHODS


def knn_layer(loaded: LoadedModel) -> str:
    """The layer ``knn`` searches in: the calibration's choice, else the embedding."""
    record = loaded.manifest.ood
    return (record and record.knn_layer) or loaded.manifest.embedding_layer


def pooled(loaded: LoadedModel) -> bool:
    """Whether ``knn`` searches its layer's feature map averaged over positions."""
    record = loaded.manifest.ood
    return record is not None and record.knn_pooling is not None


def needed_outputs(loaded: LoadedModel) -> tuple[str, ...]:
    """The model outputs the scores read: the logits, the embedding and the knn layer."""
    return tuple(dict.fromkeys((LOGITS_LAYER, loaded.manifest.embedding_layer, knn_layer(loaded))))


def shelf(loaded: LoadedModel) -> OodShelf:
    """The version's calibration in memory, kept with it (``LoadedModel.derived``)."""
    return loaded.derived.get("ood", lambda: OodShelf(loaded.path, loaded.manifest.ood))


def choose_method(loaded: LoadedModel, method: str | None) -> str:
    """The method to score with (the version's default when None); 400 for an unknown one,
    404 naming ``layerlens-train train`` for a version without a calibration."""
    if method is not None and method not in METHODS:
        raise InvalidInput(f"unknown ood_method {method!r}; expected one of: {', '.join(METHODS)}")
    record = loaded.manifest.ood
    if record is None:
        raise OodNotCalibrated(
            f"model {loaded.name!r} v{loaded.version} has no out-of-distribution calibration; "
            "`layerlens-train train` adds it to versions trained before it existed "
            "(no retraining)"
        )
    chosen = method or record.default_method
    if chosen not in record.methods:
        calibrated = ", ".join(record.methods)
        raise InvalidInput(
            f"model {loaded.name!r} v{loaded.version} is not calibrated for {chosen!r}; "
            f"calibrated: {calibrated}"
        )
    return chosen


def score(loaded: LoadedModel, outputs: Mapping[str, np.ndarray], method: str) -> np.ndarray:
    """Blocking (a search of the train index for ``knn``): (N,) scores."""
    manifest = loaded.manifest
    record = manifest.ood
    if record is None:  # choose_method has refused this already
        raise OodNotCalibrated(f"model {loaded.name!r} has no out-of-distribution calibration")
    if method in ("energy", "msp"):
        logits = outputs[LOGITS_LAYER]
        return scores.energy(logits) if method == "energy" else scores.msp(logits)
    layer = knn_layer(loaded) if method == "knn" else manifest.embedding_layer
    if layer not in outputs:  # e.g. an embedding-space sweep: no layer before the embedding
        raise InvalidInput(
            f"the {method} verdict of {loaded.name!r} v{loaded.version} reads layer {layer!r}, "
            "which this request does not compute; ask for another ood_method "
            f"(calibrated: {', '.join(record.methods)})"
        )
    embedding = outputs[layer]
    embedding = embedding.reshape(len(embedding), -1)
    in_pooled_space = method == "knn" and pooled(loaded)
    if in_pooled_space:
        # The layer's map from a run, or (the map's points) the split's vectors already
        # averaged, which averaging leaves as they are.
        spec = manifest.layer(layer)
        if spec is None:  # a calibration naming a layer the manifest does not list
            raise ModelNotReady(f"{loaded.name!r} v{loaded.version} has no layer {layer!r}")
        embedding = scores.spatial_mean(embedding, spec.output_shape[-1])
    try:
        if in_pooled_space:
            vectors, squared_norms = shelf(loaded).knn_vectors(record.train_index)
            return scores.knn(embedding, vectors, squared_norms, k=record.k)
        if method == "knn":
            index = loaded.neighbor_indexes.get(record.train_index, layer)
            return scores.knn(embedding, index.vectors, index.squared_norms, k=record.k)
        params = shelf(loaded).mahalanobis_params()
    except (CorruptIndex, CorruptCalibration, OSError, KeyError) as exc:
        raise ModelNotReady(
            f"the ood calibration of {loaded.name!r} v{loaded.version} cannot be read: {exc}"
        ) from None
    return scores.mahalanobis(embedding, params, manifest.num_classes)


def verdicts(loaded: LoadedModel, values: np.ndarray, method: str) -> list[dict[str, Any]]:
    """Per input ``{"score", "threshold", "verdict", "method"}``."""
    record = loaded.manifest.ood
    if record is None:
        raise OodNotCalibrated(f"model {loaded.name!r} has no out-of-distribution calibration")
    threshold = record.methods[method].threshold
    return [
        {
            "score": float(v),
            "threshold": threshold,
            "verdict": "out" if v > threshold else "in",
            "method": method,
        }
        for v in values.tolist()
    ]


def verdicts_of(
    loaded: LoadedModel, outputs: Mapping[str, np.ndarray], method: str
) -> list[dict[str, Any]]:
    """Blocking: ``score`` then ``verdicts`` (what a front door runs in the thread pool)."""
    return verdicts(loaded, score(loaded, outputs, method), method)


def stored_rows(loaded: LoadedModel, dataset: str, rows: np.ndarray) -> dict[str, np.ndarray]:
    """Blocking: for ``rows`` of a split the version's files hold (the map's points), the
    vectors ``score`` reads that no neighbour index holds: in a pooled ``knn`` space, the
    split's averaged vectors, under the layer's name."""
    record = loaded.manifest.ood
    if record is None or record.knn_pooling is None or record.knn_layer is None:
        return {}
    try:
        vectors, _norms = shelf(loaded).knn_vectors(dataset)
    except (CorruptCalibration, OSError) as exc:
        raise ModelNotReady(
            f"the ood calibration of {loaded.name!r} v{loaded.version} cannot score {dataset} "
            f"rows: {exc}; `layerlens-train train` calibrates it again"
        ) from None
    return {record.knn_layer: np.asarray(vectors[rows], dtype=np.float32)}
