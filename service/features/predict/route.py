"""``:predict``, ``:embed`` and ``:head`` on a model (TF Serving style paths).

Each route is the same three steps: read the body, read the verb's query options, call the
verb's function in ``service.features.predict.verbs`` (the one the fast lane calls too).
FastAPI reads the options through one dependency per verb, so /docs lists every query
parameter.
"""

# No ``from __future__ import annotations``: FastAPI must see the closure's real
# ``Depends(body)`` / ``Depends(options)`` annotations, not strings it cannot resolve.
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response

from service import codecs
from service.dataplane import Payload
from service.features.predict import verbs
from service.features.predict.verbs import TOP_K_MAX, InferenceOptions
from service.http.body import read_json_object, read_payload
from service.http.deps import ModelName, Ood, OodMethod, Plane, Version, add_model_route
from service.http.openapi_bodies import HEAD_BODY, INSTANCES_BODY
from service.openapi import INFERENCE_ERRORS
from service.responses import Answer

router = APIRouter(tags=["inference"])

TopK = Annotated[int | None, Query(ge=1, le=TOP_K_MAX, description="How many classes in top_k.")]
Output = Annotated[
    verbs.Output | None, Query(description="'logits' adds the logits to each prediction.")
]
Scale = Annotated[
    codecs.Scale,
    Query(description="'unit': JSON values are in [0, 1] instead of the model's range."),
]
Fit = Annotated[
    codecs.Fit,
    Query(description="How uploaded images of another size are fitted to the input."),
]
IncludeInput = Annotated[
    bool,
    Query(
        description="Add 'input' to each prediction: the instance the model saw after "
        "decoding and fitting (e.g. 28x28 in the model's value range)."
    ),
]
Layer = Annotated[str | None, Query(description="A probe-able layer; default the embedding.")]


async def predict_options(
    top_k: TopK = None,
    output: Output = None,
    scale: Scale = "raw",
    fit: Fit = "auto",
    include_input: IncludeInput = False,
    ood: Ood = False,
    ood_method: OodMethod = None,
) -> InferenceOptions:
    wants_ood = ood or ood_method is not None
    return InferenceOptions(
        top_k=top_k,
        output=output,
        scale=scale,
        fit=fit,
        include_input=include_input,
        fields=("ood",) if wants_ood else (),
        parameters={"ood_method": ood_method} if ood_method is not None else {},
    )


async def embed_options(
    layer: Layer = None, scale: Scale = "raw", fit: Fit = "auto"
) -> InferenceOptions:
    return InferenceOptions(layer=layer, scale=scale, fit=fit)


async def head_options(top_k: TopK = None, output: Output = None) -> InferenceOptions:
    return InferenceOptions(top_k=top_k, output=output)


async def instances_body(request: Request, plane: Plane) -> Payload:
    return await read_payload(request, max_files=plane.settings.max_batch_size)


Verb = Callable[..., Awaitable[Answer]]


def _route(
    verb: Verb, body: Callable[..., Awaitable[Any]], options: Callable[..., Any]
) -> Callable[..., Awaitable[Response]]:
    """The route of one verb: ``body`` reads the request body, ``options`` the query."""

    async def route(
        model: ModelName,
        version: Version,
        plane: Plane,
        payload: Annotated[Any, Depends(body)],
        chosen: Annotated[InferenceOptions, Depends(options)],
    ) -> Response:
        return (await verb(plane, model, version, payload, chosen)).response()

    route.__name__ = verb.__name__  # the OpenAPI operation id
    return route


for _suffix, _verb, _body, _options, _summary, _openapi in (
    (":predict", verbs.predict, instances_body, predict_options, "Classify instances",
     INSTANCES_BODY),
    (":embed", verbs.embed, instances_body, embed_options, "A layer's output for instances",
     INSTANCES_BODY),
    (":head", verbs.head, read_json_object, head_options,
     "Predict from embedding-layer vectors", HEAD_BODY),
):  # fmt: skip
    add_model_route(
        router,
        _suffix,
        _route(_verb, _body, _options),
        methods=["POST"],
        summary=_summary,
        openapi_extra=_openapi,
        errors=INFERENCE_ERRORS,
    )
