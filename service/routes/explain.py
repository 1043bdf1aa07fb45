"""``:explain``: attributions for inputs in every form ``:predict`` takes (docs/explain.md).

The options are query parameters whatever the body, so a PNG upload, a .npy array and a
JSON body are explained the same way.
"""

# No ``from __future__ import annotations``: FastAPI must see the real ``Query`` annotations.
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from pydantic import ValidationError

from service import codecs
from service.dataplane import Payload
from service.errors import InvalidInput
from service.explain.baselines import BaselineName
from service.explain.gradients import Target
from service.explain.methods import Rule
from service.explain.options import ExplainOptions, Method
from service.handlers import describe_validation_errors
from service.openapi import INFERENCE_ERRORS
from service.responses import FastJSONResponse
from service.routes.body import read_json_object, read_payload, read_uploads
from service.routes.deps import ModelName, Plane, Version, add_model_route
from service.routes.openapi_bodies import EXPLAIN_BODY
from service.schemas import ExplainRequest

router = APIRouter(tags=["inference"])

#: Largest occlusion patch and stride, and smoothgrad noise share, accepted.
MAX_PATCH = 64
MAX_NOISE = 10.0


async def explain_options(
    method: Annotated[Method, Query(description="The attribution method.")] = (
        "integrated-gradients"
    ),
    target: Annotated[
        str | None,
        Query(max_length=64, description="Class index or name; default the predicted class."),
    ] = None,
    output: Annotated[
        Target, Query(description="Attribute the target's probability or its logit.")
    ] = "probability",
    layer: Annotated[
        str | None,
        Query(
            max_length=128,
            description="integrated-gradients: attribute to this layer's "
            "units (the embedding layer) instead of the input.",
        ),
    ] = None,
    baseline: Annotated[
        BaselineName, Query(description="integrated-gradients / occlusion: the baseline.")
    ] = "black",
    steps: Annotated[
        int, Query(ge=1, description="integrated-gradients: steps along the path.")
    ] = 50,
    rule: Annotated[Rule, Query(description="integrated-gradients: the quadrature rule.")] = (
        "trapezoid"
    ),
    samples: Annotated[int, Query(ge=1, description="smoothgrad: noisy copies.")] = 25,
    noise: Annotated[
        float,
        Query(
            ge=0, le=MAX_NOISE, description="smoothgrad: noise std as a share of the input range."
        ),
    ] = 0.15,
    seed: Annotated[
        int, Query(ge=0, le=2**32 - 1, description="smoothgrad / noise baseline: the seed.")
    ] = 0,
    patch: Annotated[int, Query(ge=1, le=MAX_PATCH, description="occlusion: patch side.")] = 4,
    stride: Annotated[int, Query(ge=1, le=MAX_PATCH, description="occlusion: patch step.")] = 2,
) -> ExplainOptions:
    return ExplainOptions(
        method=method, target=target, output=output, layer=layer, baseline=baseline,
        steps=steps, rule=rule, samples=samples, noise=noise, seed=seed, patch=patch,
        stride=stride,
    )  # fmt: skip


def _validate(raw: dict[str, object]) -> ExplainRequest:
    try:
        return ExplainRequest.model_validate(raw)
    except ValidationError as exc:
        errors = [{**e, "loc": ("body", *e["loc"])} for e in exc.errors()]
        raise InvalidInput(describe_validation_errors(errors)) from None


async def explain(
    model: ModelName,
    version: Version,
    request: Request,
    plane: Plane,
    options: Annotated[ExplainOptions, Depends(explain_options)],
) -> FastJSONResponse:
    kind = codecs.media_type(request.headers.get("content-type"))
    max_files = plane.settings.max_batch_size
    if kind in ("", codecs.CONTENT_TYPE_JSON):
        body = _validate(await read_json_object(request))
        answer = await plane.explain(model, version, options, request=body)
    elif kind == codecs.CONTENT_TYPE_MULTIPART:
        files, _fields = await read_uploads(request, max_files=max_files + 1)
        inputs = [(name, data) for key, name, data in files if key != "baseline"]
        uploads = {key: (name, data) for key, name, data in files if key == "baseline"}
        if not inputs:
            raise InvalidInput("the multipart body holds no images to explain: upload 'files'")
        payload = Payload(kind="files", size=sum(len(d) for _n, d in inputs), files=inputs)
        answer = await plane.explain(model, version, options, payload=payload, uploads=uploads)
    else:
        payload = await read_payload(request, max_files=max_files)
        answer = await plane.explain(model, version, options, payload=payload)
    return FastJSONResponse(answer)


add_model_route(
    router,
    ":explain",
    explain,
    methods=["POST"],
    summary="Why this answer: attributions of a class score to the input or the embedding",
    openapi_extra=EXPLAIN_BODY,
    errors=INFERENCE_ERRORS,
)
