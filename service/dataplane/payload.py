"""Request payloads (JSON, uploaded images, .npy) and their decoding through the codecs.

Both HTTP doors read a body into a ``Payload`` (``payload_from_body`` here for JSON and
.npy, ``service.http.body`` for multipart); the data plane decodes it for a model.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import orjson

from core.manifest import InputSpec
from core.settings import Settings
from service import codecs
from service.codecs.json_body import parse_bounded
from service.errors import InvalidInput, MalformedJSON

#: Bodies above this many bytes are decoded in the thread pool, not on the event loop.
INLINE_DECODE_BYTES = 256 * 1024


@dataclass(frozen=True)
class Payload:
    """What a route read from the request, before anything model-specific is checked."""

    kind: Literal["json", "files", "npy"]
    size: int
    json: Any = None
    files: Sequence[tuple[str, bytes]] = ()
    npy: bytes = b""
    json_booleans: bool = True
    """False when the raw JSON body holds no ``true``/``false`` at all (a cheap byte scan)."""


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


def decode_payload(
    payload: Payload,
    spec: InputSpec,
    settings: Settings,
    *,
    scale: str,
    fit: str,
    stop: Callable[[], None] | None = None,
) -> np.ndarray:
    """(N, *spec.shape) float32 in the model's value range; 4xx errors name the problem.
    ``stop`` is called between images and raises to end the decoding (the client left)."""
    max_batch = settings.max_batch_size
    if payload.kind == "files":
        return codecs.decode_images(
            payload.files,
            spec,
            max_pixels=settings.max_image_pixels,
            max_batch=max_batch,
            fit=fit,
            max_bytes=settings.max_decode_bytes,
            stop=stop,
        )
    if payload.kind == "npy":
        return codecs.decode_npy(payload.npy, spec, max_batch=max_batch)
    body = payload.json
    instances = None
    if isinstance(body, dict):
        instances = body.get("instances", body.get("inputs"))
    if instances is None:
        raise InvalidInput('the JSON body must be an object with "instances": [...]')
    return codecs.decode_json_instances(
        instances, spec, scale=scale, max_batch=max_batch, booleans=payload.json_booleans
    )


def decode_vectors(values: object, width: int, *, what: str, max_batch: int) -> np.ndarray:
    """A batch of vectors of one layer (e.g. embeddings for head): (N, width) float32."""
    if not isinstance(values, list) or not values:
        raise InvalidInput(f"{what} must be a non-empty list of vectors of {width} numbers")
    if len(values) > max_batch:
        raise InvalidInput(f"{len(values)} {what} sent; at most {max_batch} per request")
    try:
        array = np.asarray(values, dtype=np.float32)
    except (TypeError, ValueError):
        raise InvalidInput(
            f"{what} must be a list of vectors of {width} numbers (rows of equal length)"
        ) from None
    if array.ndim == 1 and array.shape[0] == width:
        array = array.reshape(1, width)
    if array.ndim != 2 or array.shape[1] != width:
        raise InvalidInput(
            f"{what} have shape {list(array.shape)}; expected [N, {width}] for this model"
        )
    bad = ~np.isfinite(array)
    if bad.any():
        row = int(np.argwhere(bad)[0][0])
        raise InvalidInput(f"{what}[{row}] holds NaN or infinity")
    return array
