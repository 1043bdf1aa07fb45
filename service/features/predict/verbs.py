"""``:predict``, ``:embed`` and ``:head``: one function per verb, shared by the FastAPI routes
and the fast lane.

Each takes what a front door read from the request (model, version, the body or a
:class:`~service.dataplane.Payload`, the query options) and returns an
:class:`~service.responses.Answer`: the bytes, media type and headers of the 200. In between
it calls the data plane at the tensor level (``decode``, ``run_named``). Errors are raised
as ``service.errors`` classes and rendered by ``service.handlers.error_response`` whichever
door the request came through, so both doors answer byte for byte the same.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, get_args

import numpy as np

from core.manifest import LOGITS_LAYER, PROBABILITIES_LAYER
from service import codecs
from service.dataplane import DataPlane, Payload
from service.dataplane.outputs import DEFAULT_OUTPUTS
from service.dataplane.payload import decode_vectors
from service.errors import InvalidInput
from service.features.predict.answers import Embeddings, Predictions
from service.features.predict.encode import encode_predictions
from service.responses import Answer, dumps
from service.runtime import LoadedModel

#: ``output=logits`` adds the logits to each prediction.
Output = Literal["logits"]
OUTPUTS: tuple[str, ...] = get_args(Output)
TOP_K_MAX = 1000


@dataclass(frozen=True, slots=True)
class InferenceOptions:
    """The query options of ``:predict``, ``:embed`` and ``:head`` (each reads its own)."""

    top_k: int | None = None
    output: Output | None = None
    scale: codecs.Scale = "raw"
    fit: codecs.Fit = "auto"
    layer: str | None = None
    include_input: bool = False
    """:predict: add each prediction's ``input``, what the model saw after decoding and
    fitting, in its value range (the page shows it; clients debug their preprocessing)."""
    fields: tuple[str, ...] = ()
    """:predict: the registry's answer fields to add to each prediction (``ood``)."""
    parameters: Mapping[str, Any] = field(default_factory=dict)
    """Their options (``ood_method``)."""


async def predict(
    plane: DataPlane, model: str, version: int | None, payload: Payload, options: InferenceOptions
) -> Answer:
    loaded = plane.model(model, version)
    if not options.fields:  # the common answer: the model's own outputs only
        x = await plane.decode(loaded, payload, scale=options.scale, fit=options.fit)
        outputs = await plane.run_named(loaded, x, DEFAULT_OUTPUTS)
        return _predictions(
            plane, loaded, outputs, options, inputs=x if options.include_input else None
        )
    fields = [plane.outputs.field(key) for key in options.fields]
    for answer_field in fields:
        answer_field.check(loaded, options.parameters)
    x = await plane.decode(loaded, payload, scale=options.scale, fit=options.fit)
    needs = [name for answer_field in fields for name in answer_field.needs(loaded)]
    outputs = await plane.run_named(loaded, x, list(dict.fromkeys((*DEFAULT_OUTPUTS, *needs))))
    extras = {f.key: await f.annotate(plane, loaded, outputs, options.parameters) for f in fields}
    return _predictions(
        plane,
        loaded,
        outputs,
        options,
        inputs=x if options.include_input else None,
        extras=extras,
    )


async def embed(
    plane: DataPlane, model: str, version: int | None, payload: Payload, options: InferenceOptions
) -> Answer:
    loaded = plane.model(model, version)
    layer = plane.probe_layer(loaded, options.layer)
    x = await plane.decode(loaded, payload, scale=options.scale, fit=options.fit)
    vectors = (await plane.run_outputs(loaded, x, (layer,)))[layer]
    answer = Embeddings(loaded.name, loaded.version, layer, list(vectors.shape), vectors)
    return Answer(dumps(answer))


async def head(
    plane: DataPlane, model: str, version: int | None, body: Any, options: InferenceOptions
) -> Answer:
    """``body`` is the parsed JSON object ``{"embeddings": [[...], ...]}``."""
    if not isinstance(body, dict) or "embeddings" not in body:
        raise InvalidInput('the JSON body must be an object with "embeddings": [[...], ...]')
    unknown = sorted(set(body) - {"embeddings"})
    if unknown:  # as the documented schema (service.schemas.HeadRequest) forbids
        raise InvalidInput(f"unknown field(s) in the body: {', '.join(unknown)}")
    loaded = plane.model(model, version)
    vectors = decode_vectors(
        body["embeddings"],
        plane.embedding_width(loaded),
        what="embeddings",
        max_batch=plane.settings.max_batch_size,
    )
    outputs = await plane.run_head(loaded, vectors)
    return _predictions(plane, loaded, outputs, options)


def _predictions(
    plane: DataPlane,
    loaded: LoadedModel,
    outputs: Mapping[str, np.ndarray],
    options: InferenceOptions,
    *,
    inputs: np.ndarray | None = None,
    extras: Mapping[str, list[Any]] | None = None,
) -> Answer:
    predictions = encode_predictions(
        outputs[PROBABILITIES_LAYER],
        loaded.manifest.class_names,
        top_k=options.top_k or plane.settings.default_top_k,
        logits=outputs[LOGITS_LAYER] if options.output == "logits" else None,
    )
    if inputs is not None:
        for entry, seen in zip(predictions, inputs, strict=True):
            entry["input"] = seen
    for key, values in (extras or {}).items():
        for entry, value in zip(predictions, values, strict=True):
            entry[key] = value  # type: ignore[literal-required]  # a registered field
    return Answer(dumps(Predictions(loaded.name, loaded.version, predictions)))
