"""``:explain`` at the tensor level: targets, baselines, one batched call per method.

Gradient methods run the version's TensorFlow gradient functions in the thread pool (one
call holds every input's path; integrated gradients also batch concurrent requests' paths,
``paths``); occlusion needs only class scores, so its rows go through
the ``predict`` runner and its batcher like any other request.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from core.manifest import LOGITS_LAYER, PROBABILITIES_LAYER
from service import departures
from service.dataplane import DataPlane, Payload
from service.dataplane.inputs import read_batch, read_one
from service.departures import Departure
from service.features.explain import baselines, methods
from service.features.explain.answers import Explanation, Explanations
from service.features.explain.options import BASELINE_METHODS, ExplainOptions, check_rows
from service.features.explain.paths import integrated_gradients
from service.runtime import LoadedModel
from service.runtime.gradients import GradientFn
from service.schemas import ExplainRequest

#: Gradient rows per TensorFlow call in a watched request: a client that leaves stops the
#: explanation between chunks (the largest request, max_explain_rows 4096, is 8 of them);
#: the usual request (tens of steps for a few inputs) is one call, as before.
GRADIENT_CHUNK_ROWS = 512


async def explain_request(
    plane: DataPlane,
    name: str,
    version: int | None,
    options: ExplainOptions,
    *,
    payload: Payload | None = None,
    request: ExplainRequest | None = None,
    uploads: Mapping[str, tuple[str, bytes]] | None = None,
) -> Explanations:
    """Attributions for a batch given as a payload (uploads, .npy) or a JSON request
    (instances or dataset examples); a baseline comes from ``request`` or an upload
    named ``baseline``."""
    loaded = plane.model(name, version)
    request = request or ExplainRequest()
    uploads = uploads or {}
    x = await read_batch(plane, loaded, payload=payload, request=request)
    baseline = None
    if request.baseline is not None or "baseline" in uploads:
        options.check_baseline_input()
        baseline = await read_one(plane, loaded, "baseline", request.baseline, uploads)
    return await explain(plane, loaded, x, options, baseline)


async def explain(
    plane: DataPlane,
    loaded: LoadedModel,
    x: np.ndarray,
    options: ExplainOptions,
    baseline: np.ndarray | None = None,
) -> Explanations:
    """Explanations of a decoded batch ``x``; ``baseline`` (one row) replaces the named one."""
    manifest = loaded.manifest
    settings = plane.settings
    options.check(
        manifest,
        max_steps=settings.max_explain_steps,
        tail_layers=loaded.gradients.tail_layers,
    )
    check_rows(len(x), options.rows_per_input(manifest), max_rows=settings.max_explain_rows)
    # Long enough to be worth stopping if the client leaves (service.departures).
    departure = departures.watch("explain")

    probabilities = (await plane.run_outputs(loaded, x, [PROBABILITIES_LAYER]))[PROBABILITIES_LAYER]
    predicted = probabilities.argmax(axis=1)
    fixed = options.class_index(manifest)
    classes = predicted.astype(np.int32) if fixed is None else np.full(len(x), fixed, np.int32)

    batch = _Batch(plane, loaded, x, classes, options, departure)
    if options.method in BASELINE_METHODS:
        ends = await _baselines(plane, loaded, x, options, baseline)
        run = _integrated_gradients if options.method == "integrated-gradients" else _occlusion
        items = await run(batch, ends)
    else:
        items = await _gradient_maps(batch)
    for item, target, guess in zip(items, classes.tolist(), predicted.tolist(), strict=True):
        item.update(target=target, target_class=manifest.class_names[target], predicted=guess)
    uses_baseline = options.method in BASELINE_METHODS
    custom = baseline is not None
    return Explanations(
        model=loaded.name,
        version=loaded.version,
        method=options.method,
        output=options.output,
        layer=options.layer,
        baseline=("input" if custom else options.baseline) if uses_baseline else None,
        explanations=items,
    )


async def _baselines(
    plane: DataPlane,
    loaded: LoadedModel,
    x: np.ndarray,
    options: ExplainOptions,
    given: np.ndarray | None,
) -> np.ndarray:
    spec = loaded.manifest.input
    if given is not None:
        return np.broadcast_to(given.reshape(1, *spec.shape), x.shape).astype(np.float32)
    if options.baseline == "black":
        return baselines.black(x, spec)
    if options.baseline == "noise":
        return baselines.noise(x, spec, options.seed)
    if options.baseline == "blur":
        return await plane.in_thread(baselines.blur, x, spec)
    dataset = loaded.manifest.dataset.name
    return await plane.in_thread(baselines.train_mean, x, dataset, plane.settings.data_dir)


@dataclass(frozen=True, slots=True)
class _Batch:
    """What every method reads: the decoded inputs ``x``, the class each one's attributions
    are for, the version and the request's options."""

    plane: DataPlane
    loaded: LoadedModel
    x: np.ndarray
    classes: np.ndarray
    options: ExplainOptions
    departure: Departure | None
    """Watches the client while the request runs long enough to be worth stopping."""


async def _integrated_gradients(batch: _Batch, ends: np.ndarray) -> list[Explanation]:
    """``ends``: each input's baseline, where its path starts."""
    plane, loaded, x, options = batch.plane, batch.loaded, batch.x, batch.options
    if (layer := options.layer) is None:
        where = "input"
        grad = loaded.gradients.of("input", options.output)
    else:
        # The path runs between the activations of the input and of its baseline.
        both = await plane.run_outputs(loaded, np.concatenate([x, ends]), [layer])
        x, ends = both[layer][: len(x)], both[layer][len(x) :]
        where = f"layer:{layer}"
        if layer == loaded.manifest.embedding_layer:
            grad = loaded.gradients.of("embedding", options.output)
        else:
            grad = await plane.in_thread(loaded.gradients.of_layer, layer, options.output)
    paths = await integrated_gradients(
        plane,
        loaded,
        where,
        grad,
        x,
        ends,
        batch.classes,
        (options.output, options.steps, options.rule),
    )
    return [
        {
            "value": p.value,
            "baseline_value": p.baseline_value,
            "attributions": p.attributions,
            "completeness_gap": p.completeness_gap,
            "path": {"alphas": p.alphas, "values": p.path_values},
        }
        for p in paths
    ]


async def _gradient_maps(batch: _Batch) -> list[Explanation]:
    plane, loaded, options = batch.plane, batch.loaded, batch.options
    x, classes = batch.x, batch.classes
    grad = _stoppable(loaded.gradients.of("input", options.output), batch.departure)
    if options.method == "saliency":
        f, maps = await plane.in_thread(methods.saliency, grad, x, classes)
    else:
        low, high = loaded.manifest.input.value_range
        sigma = options.noise * (high - low)
        f, maps = await plane.in_thread(
            lambda: methods.smoothgrad(
                grad, x, classes, samples=options.samples, sigma=sigma, seed=options.seed
            )
        )
    return [{"value": float(v), "attributions": m} for v, m in zip(f, maps, strict=True)]


async def _occlusion(batch: _Batch, ends: np.ndarray) -> list[Explanation]:
    """``ends``: each input's baseline, what an occluded window is filled with."""
    plane, loaded, x, options = batch.plane, batch.loaded, batch.x, batch.options
    output = PROBABILITIES_LAYER if options.output == "probability" else LOGITS_LAYER
    windows = methods.occlusion_windows(loaded.manifest.input.shape, options.patch, options.stride)
    rows = methods.occlusion_inputs(x, ends, windows)
    scores = (await plane.run_outputs(loaded, rows, [output]))[output]
    per_input = len(windows) + 1
    f = scores[np.arange(len(rows)), np.repeat(batch.classes, per_input)]
    values, maps = methods.occlusion_attributions(f, windows, x.shape[1:], len(x))
    baseline_scores = (await plane.run_outputs(loaded, ends, [output]))[output]
    baseline_values = baseline_scores[np.arange(len(x)), batch.classes]
    return [
        {"value": float(v), "baseline_value": float(b), "attributions": m}
        for v, b, m in zip(values, baseline_values, maps, strict=True)
    ]


def _stoppable(grad: GradientFn, departure: Departure | None) -> GradientFn:
    """``grad`` in chunks of GRADIENT_CHUNK_ROWS rows, stopping between them once the
    client has left (the gradient call of a large request otherwise runs to its end)."""
    if departure is None:
        return grad

    def run(x: np.ndarray, classes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        departure.check()
        if len(x) <= GRADIENT_CHUNK_ROWS:
            return grad(x, classes)
        values, gradients = [], []
        for start in range(0, len(x), GRADIENT_CHUNK_ROWS):
            departure.check()
            end = start + GRADIENT_CHUNK_ROWS
            f, g = grad(x[start:end], classes[start:end])
            values.append(f)
            gradients.append(g)
        return np.concatenate(values), np.concatenate(gradients)

    return run
