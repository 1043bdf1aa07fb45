"""HTTP adapters: one per inference call, shared by the FastAPI routes and the fast lane.

Each adapter takes what a front door read from the request (model, version, the body or a
:class:`~service.dataplane.Payload`, the query options) and returns an :class:`Answer`: the
bytes, media type and headers of the 200. In between it calls the data plane at the
tensor level (``decode``, ``run_outputs``), the calls the gRPC servicer makes too. Errors
are raised as ``service.errors`` classes and rendered by ``service.handlers.error_response``
whichever door the request came through, so both doors answer byte for byte the same.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, get_args

import numpy as np
import orjson
from starlette.responses import Response

from core.manifest import LOGITS_LAYER, PROBABILITIES_LAYER
from service import codecs
from service.codecs.json_body import parse_bounded
from service.dataplane import DataPlane, Payload
from service.dataplane import inference_v2 as v2
from service.dataplane.inputs import decode_vectors
from service.dataplane.predictions import encode_predictions
from service.errors import InvalidInput, MalformedJSON
from service.protocol.v2_binary import (
    BINARY_CONTENT_TYPE,
    encode_response,
    split_body_bounded,
    take_binary_inputs,
)
from service.responses import dumps
from service.runtime import LoadedModel

#: ``output=logits`` adds the logits to each prediction.
Output = Literal["logits"]
OUTPUTS: tuple[str, ...] = get_args(Output)
TOP_K_MAX = 1000
MEDIA_JSON = "application/json"


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


@dataclass(frozen=True, slots=True)
class Answer:
    """A 200 answer as bytes: what the lane sends raw and a route wraps in a Response."""

    content: bytes
    media_type: str = MEDIA_JSON
    headers: Mapping[str, str] = field(default_factory=dict)

    def response(self) -> Response:
        return Response(self.content, media_type=self.media_type, headers=dict(self.headers))


def parse_json(body: bytes) -> Any:
    if not body.strip():
        raise MalformedJSON("malformed JSON body: the body is empty")
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise MalformedJSON(f"malformed JSON body: {exc}") from None


async def payload_from_body(kind: str, body: bytes, *, max_bytes: int) -> Payload | None:
    """A JSON or .npy body as a payload; None for kinds read otherwise (multipart, unknown).
    JSON is parsed within ``max_bytes`` and, when large, off the event loop."""
    if kind in ("", codecs.CONTENT_TYPE_JSON):
        booleans = b"true" in body or b"false" in body
        parsed = await parse_bounded(body, parse_json, max_bytes=max_bytes)
        return Payload(kind="json", size=len(body), json=parsed, json_booleans=booleans)
    if kind == codecs.CONTENT_TYPE_NPY:
        return Payload(kind="npy", size=len(body), npy=body)
    return None


async def predict(
    plane: DataPlane, model: str, version: int | None, payload: Payload, options: InferenceOptions
) -> Answer:
    loaded = plane.model(model, version)
    x = await plane.decode(loaded, payload, scale=options.scale, fit=options.fit)
    outputs = await plane.run_outputs(loaded, x, v2.DEFAULT_OUTPUTS)
    return _predictions(
        plane, loaded, outputs, options, inputs=x if options.include_input else None
    )


async def embed(
    plane: DataPlane, model: str, version: int | None, payload: Payload, options: InferenceOptions
) -> Answer:
    loaded = plane.model(model, version)
    layer = plane.probe_layer(loaded, options.layer)
    x = await plane.decode(loaded, payload, scale=options.scale, fit=options.fit)
    vectors = (await plane.run_outputs(loaded, x, (layer,)))[layer]
    body = {
        "model": loaded.name,
        "version": loaded.version,
        "layer": layer,
        "shape": list(vectors.shape),
        "embeddings": vectors,
    }
    return Answer(dumps(body))


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


async def infer(
    plane: DataPlane, model: str, version: int | None, body: bytes, header_length: str | None
) -> Answer:
    """Open Inference Protocol ``infer``: JSON, or JSON plus binary tensors."""
    request, tail = await split_body_bounded(body, header_length, plane.settings.max_decode_bytes)
    loaded = plane.model(model, version)
    checked = v2.check_request(request)
    binaries = take_binary_inputs(checked["inputs"], tail)
    outputs = v2.requested_outputs(loaded, checked)

    def decode() -> np.ndarray:
        return v2.decode_inputs(loaded, checked, binaries, max_batch=plane.settings.max_batch_size)

    x = await plane.off_loop(decode, size=len(tail))
    names = [name for name, _binary in outputs]
    results = await plane.run_v2_outputs(loaded, x, names, checked.get("parameters"))
    header, chunks = v2.encode_outputs(loaded, checked, results, outputs)
    content, headers = encode_response(header, chunks)
    return Answer(content, BINARY_CONTENT_TYPE if chunks else MEDIA_JSON, headers)


def _predictions(
    plane: DataPlane,
    loaded: LoadedModel,
    outputs: Mapping[str, np.ndarray],
    options: InferenceOptions,
    *,
    inputs: np.ndarray | None = None,
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
    return Answer(
        dumps({"model": loaded.name, "version": loaded.version, "predictions": predictions})
    )
