"""Integrated gradients of concurrent requests, computed together.

A path costs about a dozen gradient calls (the adaptive rule's rounds), and each call's
fixed cost (handing tensors to TensorFlow, running the restored function) is larger than
the arithmetic of a few rows of a small model. So the paths of concurrent requests that
share a gradient function, a step count and a rule go through one runner
(``service.runtime.runners``, the dynamic batcher when batching is on): their inputs run
as one batch of ``methods.integrated_gradients``, whose rounds then carry every request's
rows at once. Each input's path is its own (its own alphas, its own bisections), so a
request gets the same answer alone or in company.

The batcher queues rows of one array, so an input travels as one packed row: the input,
its baseline and its target class, flattened side by side.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from service.dataplane import DataPlane
from service.features.explain import methods
from service.runtime import LoadedModel
from service.runtime.gradients import GradientFunction
from service.runtime.runners import Runner

#: Most (gradient, steps, rule) runners one version keeps; beyond that (a client sweeping
#: ``steps``) a path runs on its own, never batched, so the runners stay few.
MAX_RUNNERS = 32


def pack(inputs: np.ndarray, baselines: np.ndarray, classes: np.ndarray) -> np.ndarray:
    """``(n, 2 * size + 1)`` float32: each input, its baseline and its class (exact in
    float32 for any class index a model has)."""
    n = len(inputs)
    return np.concatenate(
        [
            inputs.reshape(n, -1).astype(np.float32, copy=False),
            baselines.reshape(n, -1).astype(np.float32, copy=False),
            classes.astype(np.float32).reshape(n, 1),
        ],
        axis=1,
    )


def unpack(rows: np.ndarray, shape: tuple[int, ...]) -> tuple[np.ndarray, ...]:
    size = (rows.shape[1] - 1) // 2
    n = len(rows)
    inputs = rows[:, :size].reshape(n, *shape)
    baselines = rows[:, size : 2 * size].reshape(n, *shape)
    return inputs, baselines, rows[:, -1].astype(np.int32)


def path_run(
    grad: methods.GradFn, shape: tuple[int, ...], *, steps: int, rule: methods.Rule
) -> Callable[[np.ndarray], dict[str, np.ndarray]]:
    """A batch of packed rows -> each path's parts, one row per input.

    A model's gradient function runs the adaptive rule as one graph (``GradientFunction.
    adaptive_paths``, for its first ``MAX_PATH_GRAPHS`` step counts); any other ``grad``
    or rule goes through ``methods``, round by round.
    """
    whole_paths = (
        grad.adaptive_paths(steps)
        if rule == "adaptive" and isinstance(grad, GradientFunction)
        else None
    )
    if whole_paths is not None:
        return lambda rows: whole_paths(*unpack(rows, shape))

    def run(rows: np.ndarray) -> dict[str, np.ndarray]:
        inputs, baselines, classes = unpack(rows, shape)
        paths = methods.integrated_gradients(
            grad, inputs, baselines, classes, steps=steps, rule=rule
        )
        return {
            "attributions": np.stack([p.attributions for p in paths]),
            "value": np.array([p.value for p in paths]),
            "baseline_value": np.array([p.baseline_value for p in paths]),
            "alphas": np.stack([np.asarray(p.alphas) for p in paths]),
            "path_values": np.stack([p.path_values for p in paths]),
        }

    return run


def _runner(
    plane: DataPlane,
    loaded: LoadedModel,
    where: str,
    grad: methods.GradFn,
    shape: tuple[int, ...],
    options: tuple[str, int, methods.Rule],
) -> Runner | None:
    """The runner of paths through ``grad`` (``where``: the space or layer, and the
    output) with these options, made on first use; None past ``MAX_RUNNERS``."""
    target, steps, rule = options
    key = (where, target, steps, rule)
    runners = loaded.gradients.path_runners
    runner = runners.get(key)
    if runner is None:
        if len(runners) >= MAX_RUNNERS:
            return None
        per_path = methods.path_rows(steps, rule)
        runner = runners.setdefault(
            key,
            plane.feature_runner(
                loaded,
                path_run(grad, shape, steps=steps, rule=rule),
                what=f"integrated gradients ({where}, {target}, {steps} steps, {rule})",
                on_batch=plane.telemetry.explain_batch_size.labels(loaded.name).observe,
                # a batch of paths is bounded like one request's rows
                max_batch_size=max(1, plane.settings.max_explain_rows // per_path),
            ),
        )
    return runner


async def integrated_gradients(
    plane: DataPlane,
    loaded: LoadedModel,
    where: str,
    grad: methods.GradFn,
    inputs: np.ndarray,
    baselines: np.ndarray,
    classes: np.ndarray,
    options: tuple[str, int, methods.Rule],
) -> list[methods.PathAttribution]:
    """``methods.integrated_gradients`` of these inputs, batched with concurrent requests'
    (``options``: the output, the steps and the rule)."""
    _target, steps, rule = options
    shape = tuple(inputs.shape[1:])
    runner = _runner(plane, loaded, where, grad, shape, options)
    if runner is None:
        return await plane.in_thread(
            lambda: methods.integrated_gradients(
                grad, inputs, baselines, classes, steps=steps, rule=rule
            )
        )
    parts = await runner.submit(pack(inputs, baselines, classes))
    return [
        methods.PathAttribution(
            attributions=parts["attributions"][i],
            value=float(parts["value"][i]),
            baseline_value=float(parts["baseline_value"][i]),
            alphas=parts["alphas"][i],
            path_values=parts["path_values"][i],
        )
        for i in range(len(inputs))
    ]
