"""``:interpolate`` at the tensor level: two inputs, the alphas, one batched run.

In pixel space the mixed inputs go through ``predict``; in embedding space the two ends are
embedded once and the mixed vectors go through ``head``.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from core.manifest import PROBABILITIES_LAYER
from service.dataplane import DataPlane
from service.dataplane.inputs import read_one
from service.errors import UnknownLayer
from service.features.interpolate.alphas import mix, resolve_alphas, summarise
from service.features.interpolate.answers import Sweep
from service.schemas import InterpolateRequest


async def interpolate(
    plane: DataPlane,
    name: str,
    version: int | None,
    request: InterpolateRequest,
    uploads: Mapping[str, tuple[str, bytes]],
) -> Sweep:
    loaded = plane.model(name, version)
    alphas = resolve_alphas(request.alphas, max_alphas=plane.settings.max_alphas)
    embedding = loaded.manifest.embedding_layer
    if request.space == "embedding" and request.layer not in (None, embedding):
        raise UnknownLayer(
            f"embedding-space interpolation mixes the layer the head starts from, "
            f"{embedding!r}; layer {request.layer!r} is not supported"
        )
    parameters = {"ood_method": request.ood_method} if request.ood_method is not None else {}
    verdict = None
    if request.ood or request.ood_method is not None:
        verdict = plane.outputs.field("ood")
        verdict.check(loaded, parameters)
    a = await read_one(plane, loaded, "a", request.a, uploads)
    b = await read_one(plane, loaded, "b", request.b, uploads)
    if request.space == "pixel":
        names = [PROBABILITIES_LAYER, *(verdict.needs(loaded) if verdict else ())]
        outputs = await plane.run_outputs(loaded, mix(a, b, alphas), list(dict.fromkeys(names)))
    else:
        ends = (await plane.run_outputs(loaded, np.concatenate([a, b]), [embedding]))[embedding]
        mixed = mix(ends[:1], ends[1:], alphas)
        outputs = {**await plane.run_head(loaded, mixed), embedding: mixed}
    points, summary = summarise(alphas, outputs[PROBABILITIES_LAYER], loaded.manifest.class_names)
    if verdict is not None:
        values = await verdict.annotate(plane, loaded, outputs, parameters)
        for point, value in zip(points, values, strict=True):
            point[verdict.key] = value  # type: ignore[literal-required]  # a registered field
    return Sweep(loaded.name, loaded.version, request.space, points, summary)
